import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { expect } from "chai";
import { TEST_REPLICA } from "../support/env.js";

const run = promisify(execFile);
const BENCH = new URL("../../../bench/dist/main.js", import.meta.url).pathname;

// A smoke run only: the bench completes and writes a whole report. Its figures are never judged here
// (timings belong to `npm run bench`, on a quiet machine). The report goes to a temporary directory,
// so the committed BENCHMARKS.md stays the full run's.
describe("npm run bench -- --quick (smoke)", function () {
  this.timeout(360_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(`${tmpdir()}/fanfare-bench-`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("completes and writes BENCHMARKS.md, the raw results and the charts, and its audit finds every timeline right", async () => {
    const env = { ...process.env, ...(TEST_REPLICA ? { PG_REPLICA_URL: TEST_REPLICA } : {}) };
    const { stdout } = await run(process.execPath, [BENCH, "--quick", "--report-dir", dir], { env, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout).to.include("report written");
    const report = readFileSync(`${dir}/BENCHMARKS.md`, "utf8");
    for (const section of [
      "## Feed reads",
      "## Memory",
      "## Writes",
      "## Cold rebuild",
      "## Ordinary fan-out",
      "## Celebrity fan-out",
      "## How cost grows",
      "## Truth audit after the run",
      "## Targets",
    ])
      expect(report).to.include(section);
    const results = JSON.parse(readFileSync(`${dir}/bench/results/results.json`, "utf8"));
    expect(results).to.include.keys(
      "reads",
      "memory",
      "writes",
      "rebuilds",
      "ordinary",
      "celebrity",
      "byFollows",
      "celebrityGrowth",
      "live",
      "audit",
    );
    // The smoke run's figures are not judged, but its truth is: the audit must find every timeline right.
    expect(results.audit.audited, "timelines audited").to.be.greaterThan(0);
    expect(results.audit.differing, "timelines differing from the databases").to.equal(0);
    expect(results.celebrity.fans).to.equal(10_000);
    for (const chart of ["feed-latency.svg", "celebrity-progress.svg", "reads-by-follows.svg", "celebrity-growth.svg"])
      expect(existsSync(`${dir}/bench/results/${chart}`)).to.equal(true);
  });
});
