// Runs mocha for the test scripts and closes with the one summary line CI reads: "N passed, N failed".
import { spawn } from "node:child_process";
import { repoRoot } from "./lib.mjs";

/** Runs mocha with `args` (configuration in .mocharc.json unless `--no-config`), echoing its output; resolves to its exit code. */
export async function runMochaWithSummary(args, env = process.env) {
  const { code, output } = await runMocha(args, env);
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
  const skipped = count("pending");
  process.stdout.write(`\n${count("passing")} passed, ${count("failing")} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  return code;
}

function runMocha(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${repoRoot}/node_modules/mocha/bin/mocha.js`, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
      env,
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
