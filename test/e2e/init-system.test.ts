import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";
import { mesh } from "../support/mesh.js";

const run = promisify(execFile);
const INIT_SYSTEM = new URL("../../../tools/dist/init-system.js", import.meta.url).pathname;

describe("init-system (fills the mesh through the REST API)", function () {
  this.timeout(120_000);

  it("registers, befriends and posts, prints a two-post feed and a summary, and exits 0", async () => {
    const { baseUrl } = await mesh();
    const { stdout } = await run(process.execPath, [
      INIT_SYSTEM,
      "--users",
      "8",
      "--max-friends",
      "4",
      "--max-posts",
      "3",
      "--seed",
      "42",
      "--url",
      baseUrl,
    ]);
    expect(stdout).to.match(/summary: 8 users, \d+ friendships, \d+ posts, 0 errors/);
    const feed = JSON.parse(/offset=0 limit=2:\n(\[[\s\S]*?\n\])/.exec(stdout)?.[1] ?? "null");
    expect(feed).to.be.an("array").with.length(2);
    expect(feed[0]).to.have.all.keys("id", "text", "author_user_id");
  });

  it("refuses bad arguments with a clear message and a non-zero exit", async () => {
    const failure = await run(process.execPath, [INIT_SYSTEM, "--users", "zero"]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).to.equal(1);
    expect(failure?.stderr).to.include("--users must be a whole number");
  });
});
