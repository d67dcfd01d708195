// `npm test`: prepares everything `npm start` needs (dependencies, contracts, build, PostgreSQL,
// Redis, NATS), then runs every test (unit, repository checks and lint, per-service integration,
// end to end) with mocha and closes with one line "N passed, N failed".
// `npm run test:unit` (`--unit`): installs and builds only, then runs the domain rules against
// in-memory fakes of their ports (test/unit), in seconds, with no service running.
import { spawn } from "node:child_process";
import { repoRoot } from "./lib.mjs";
import { prepare, runScript } from "./prepare.mjs";

const UNIT_ONLY = ["--no-config", "--exit", "dist/test/unit/**/*.test.js"];

runScript(async () => {
  const unit = process.argv.includes("--unit");
  const extraArgs = process.argv.slice(2).filter((arg) => arg !== "--unit");
  const replicaUrl = await prepare({ servicesNeeded: !unit });
  if (replicaUrl) process.env.TEST_PG_REPLICA_URL = replicaUrl;
  const { code, output } = await runMocha(unit ? [...UNIT_ONLY, ...extraArgs] : extraArgs);
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
  const skipped = count("pending");
  process.stdout.write(`\n${count("passing")} passed, ${count("failing")} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  process.exitCode = code;
});

/** Runs mocha (configuration in .mocharc.json unless told otherwise), echoing its output and keeping a copy to count from. */
function runMocha(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${repoRoot}/node_modules/mocha/bin/mocha.js`, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
      env: process.env,
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}
