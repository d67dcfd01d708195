import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { createFileRegistry } from "@bufbuild/protobuf";
import { credentials } from "@grpc/grpc-js";
import { expect } from "chai";
import { reflectionV1, reflectionV1alpha } from "@fanfare/contracts";
import { mesh, type Mesh } from "../support/mesh.js";

const run = promisify(execFile);
const BUF = new URL("../../../node_modules/.bin/buf", import.meta.url).pathname;

/** What `buf curl` prints, through server reflection alone (no schema given). */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });
  return stdout;
}

type ReflectionClientCtor = typeof reflectionV1.ServerReflectionClient | typeof reflectionV1alpha.ServerReflectionClient;

/** Asks a server which file defines `symbol`, as grpcurl's `describe` does, and returns the files it sent. */
function fileContainingSymbol(Ctor: ReflectionClientCtor, address: string, symbol: string): Promise<Buffer[]> {
  const client = new Ctor(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo();
    call.on("data", (response: reflectionV1.ServerReflectionResponse) => {
      call.end();
      client.close();
      if (response.errorResponse) reject(new Error(response.errorResponse.errorMessage));
      else resolve(response.fileDescriptorResponse?.fileDescriptorProto ?? []);
    });
    call.on("error", reject);
    call.write({ host: "", fileContainingSymbol: symbol });
  });
}

describe("gRPC server reflection (what grpcurl and buf curl use)", function () {
  this.timeout(60_000);
  let m: Mesh;
  before(async () => {
    m = await mesh();
  });

  const services = () => [
    {
      address: m.addresses.socialGraph,
      service: "fanfare.socialgraph.v1.SocialGraphService",
      method: "SearchUsers",
      body: { first_name_prefix: "no-such-name-", last_name_prefix: "" },
    },
    { address: m.addresses.posts, service: "fanfare.posts.v1.PostsService", method: "BatchGetPosts", body: { post_ids: [] } },
    {
      address: m.addresses.feed,
      service: "fanfare.feed.v1.FeedService",
      method: "GetFeed",
      body: { user_id: "0195a3f0-0000-7000-8000-000000000000", limit: 1 },
    },
  ];

  it("lets buf curl list services and methods and call a method of every service", async () => {
    for (const { address, service, method, body } of services()) {
      const listed = await bufCurl(["--list-services", `http://${address}`]);
      expect(listed).to.include(service).and.include("grpc.health.v1.Health");
      const methods = await bufCurl(["--list-methods", `http://${address}`]);
      expect(methods).to.include(`${service}/${method}`);
      const output = await bufCurl(["-d", JSON.stringify(body), `http://${address}/${service}/${method}`]);
      expect(JSON.parse(output)).to.be.an("object");
    }
  });

  for (const [version, Ctor] of [
    ["v1", reflectionV1.ServerReflectionClient],
    ["v1alpha", reflectionV1alpha.ServerReflectionClient],
  ] as const) {
    it(`describes every service through ${version} with complete descriptors (dependencies included)`, async () => {
      for (const { address, service, method } of services()) {
        const files = await fileContainingSymbol(Ctor, address, service);
        const set = create(FileDescriptorSetSchema, { file: files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes)) });
        // Building a registry fails when any import is missing: the bug of @grpc/reflection 1.0.4.
        const registry = createFileRegistry(set);
        const described = registry.getService(service);
        expect(described, service).to.not.equal(undefined);
        const rpc = described!.methods.find((m) => m.name === method);
        expect(rpc?.input.fields.length, `${service}/${method} request fields`).to.be.greaterThan(0);
      }
    });
  }
});
