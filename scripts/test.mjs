// `npm test`: prepares everything `npm start` needs (dependencies, contracts, build, PostgreSQL,
// Redis, NATS), then runs every test (unit, per-service integration, end to end) with mocha and
// closes with one line "N passed, N failed".
import { spawn } from "node:child_process";
import { repoRoot } from "./lib.mjs";
import { prepare, runScript } from "./prepare.mjs";

runScript(async () => {
  const replicaUrl = await prepare();
  if (replicaUrl) process.env.TEST_PG_REPLICA_URL = replicaUrl;
  const { code, output } = await runMocha(process.argv.slice(2));
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
  const skipped = count("pending");
  process.stdout.write(`\n${count("passing")} passed, ${count("failing")} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  process.exitCode = code;
});

/** Runs mocha (configuration in .mocharc.json), echoing its output and keeping a copy to count from. */
function runMocha(extraArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${repoRoot}/node_modules/mocha/bin/mocha.js`, ...extraArgs], {
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
