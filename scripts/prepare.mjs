// Everything `npm start` and `npm test` need before they run: dependencies, generated contracts,
// the TypeScript build, and the backing services.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { ensureInfrastructure } from "./infra.mjs";
import { ensureLocalReplica } from "./replica.mjs";
import { repoRoot, run, say } from "./lib.mjs";

const MIN_NODE = [20, 19];

/**
 * Returns the PostgreSQL replica's server URL, or undefined when the system runs on the leader
 * alone. With `{ servicesNeeded: false }` (the Compose stand brings its own), only installs and builds.
 */
export async function prepare(options = { servicesNeeded: true }) {
  checkNodeVersion();
  await installDependencies();
  say("generating contracts (buf + ts-proto)");
  await run(process.execPath, ["scripts/generate.mjs"]);
  say("building (tsc -b)");
  await run(process.execPath, [`${repoRoot}/node_modules/typescript/bin/tsc`, "-b"]);
  removeStaleTests();
  if (!options.servicesNeeded) return undefined;
  say("checking PostgreSQL, Redis and NATS");
  await ensureInfrastructure();
  return ensureLocalReplica();
}

function checkNodeVersion() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    throw new Error(`Node.js ${MIN_NODE.join(".")} or newer is needed; this is ${process.versions.node}`);
  }
}

/** npm install when node_modules is missing or older than the lock file. */
async function installDependencies() {
  const installed = `${repoRoot}/node_modules/.package-lock.json`;
  const lock = `${repoRoot}/package-lock.json`;
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  say("installing dependencies (npm install)");
  await run("npm", ["install", "--no-audit", "--no-fund"]);
}

/**
 * tsc never deletes output: a test file moved or removed would still run from dist/test. Compiled
 * tests whose source is gone are removed before mocha looks for tests.
 */
function removeStaleTests() {
  const compiled = `${repoRoot}/dist/test`;
  if (!existsSync(compiled)) return;
  for (const entry of readdirSync(compiled, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const relative = `${entry.parentPath}/${entry.name}`.slice(compiled.length).replace(/\.js$/, ".ts");
    if (!existsSync(`${repoRoot}/test${relative}`)) rmSync(`${entry.parentPath}/${entry.name}`);
  }
}

/** Runs `main`, printing a failure as one plain message instead of a stack trace. */
export function runScript(main) {
  main().catch((error) => {
    process.stderr.write(`[fanfare] ${error.message}\n`);
    process.exit(1);
  });
}
