// `npm run bench [-- --quick]`: the same preparation as npm start/test, then the benchmark
// (bench/src/main.ts), which writes BENCHMARKS.md. Timing figures live here, never in npm test.
import { spawn } from "node:child_process";
import { repoRoot } from "./lib.mjs";
import { prepare, runScript } from "./prepare.mjs";

runScript(async () => {
  const replicaUrl = await prepare();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [`${repoRoot}/bench/dist/main.js`, ...process.argv.slice(2)], {
      cwd: repoRoot,
      stdio: "inherit",
      env: { ...process.env, ...(replicaUrl ? { PG_REPLICA_URL: replicaUrl } : {}) },
    });
    child.on("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  process.exitCode = code;
});
