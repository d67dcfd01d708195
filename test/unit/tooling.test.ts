import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";

const run = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;

describe("tooling", function () {
  this.timeout(60_000);

  it("proto contracts pass buf lint", async () => {
    const { stdout, stderr } = await run(`${ROOT}node_modules/.bin/buf`, ["lint"], { cwd: ROOT });
    expect(stdout + stderr).to.equal("");
  });

  for (const [service, env, expected] of [
    ["gateway", { JWT_SECRET: "short" }, /JWT_SECRET: must be at least 32 characters/],
    ["social-graph", { PG_PRIMARY_URL: "mysql://nope" }, /PG_PRIMARY_URL: must be a postgres:\/\/ URL/],
    ["feed", { GRPC_PORT: "seventy" }, /GRPC_PORT/],
  ] as const) {
    it(`${service} refuses bad configuration with one clear message and a non-zero exit`, async () => {
      const failure = await run(process.execPath, [`${ROOT}services/${service}/dist/src/main.js`], { env: { PATH: process.env.PATH, ...env } }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure, "the process should have failed").to.not.equal(undefined);
      expect(failure!.code).to.equal(2);
      expect(failure!.stderr).to.match(expected).and.not.match(/\n\s+at /);
    });
  }
});
