// `npm start`: prepares everything, then runs the four services in the foreground with one
// prefixed log stream, and stops them all cleanly on Ctrl-C or SIGTERM.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { repoRoot, say } from "./lib.mjs";
import { prepare, runScript } from "./prepare.mjs";

/** How long the mesh may take to report ready before start-up counts as failed. */
const READY_TIMEOUT_MS = 60_000;
/** How long services get to finish in-flight work after SIGTERM before they are killed. */
const STOP_TIMEOUT_MS = 15_000;

const PG_BASE = process.env.PG_PRIMARY_URL ?? "postgres://postgres@127.0.0.1:5432";

/** Each service's own settings; everything else comes from the environment as it is. */
function services(replicaUrl) {
  return [
    {
      name: "social-graph",
      color: 36,
      env: { ...databaseUrls("social_graph", replicaUrl), METRICS_PORT: process.env.SOCIAL_GRAPH_METRICS_PORT ?? "9101" },
    },
    { name: "posts", color: 35, env: { ...databaseUrls("posts", replicaUrl), METRICS_PORT: process.env.POSTS_METRICS_PORT ?? "9102" } },
    { name: "feed", color: 33, env: { METRICS_PORT: process.env.FEED_METRICS_PORT ?? "9103" } },
    { name: "gateway", color: 32, env: { JWT_SECRET: jwtSecret() } },
  ];
}

runScript(async () => {
  const replicaUrl = await prepare();
  const children = services(replicaUrl).map(startService);
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    say("stopping services");
    // Callers first (gateway, then feed), so nobody is left calling a service that is already gone.
    for (const child of [...children].reverse()) await stopChild(child);
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  for (const child of children) {
    child.on("exit", (code, signal) => {
      if (stopping) return;
      say(`${child.serviceName} exited (${signal ?? `code ${code}`}); stopping the rest`);
      void stopAll(1);
    });
  }
  const port = process.env.GATEWAY_PORT ?? "8083";
  await waitForReady(`http://127.0.0.1:${port}/readyz`);
  await loadDemoDataOnce(`http://127.0.0.1:${port}`);
  say(`Fanfare is up: http://localhost:${port}  (API docs: http://localhost:${port}/docs, Ctrl-C stops)`);
});

/**
 * On the first start of a checkout, a small demo data set (init-system with a fixed seed), so a
 * newcomer's first feed is not empty. FANFARE_NO_DEMO_DATA=1 skips it; so does a failure (said, not fatal).
 */
async function loadDemoDataOnce(url) {
  const marker = `${repoRoot}/.fanfare/demo-data-loaded`;
  if (process.env.FANFARE_NO_DEMO_DATA || existsSync(marker)) return;
  say("first start: loading a small demo data set (skip with FANFARE_NO_DEMO_DATA=1)");
  const ok = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["tools/dist/init-system.js", "--users", "20", "--max-friends", "8", "--max-posts", "4", "--seed", "1", "--url", url],
      {
        cwd: repoRoot,
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    child.on("exit", (code) => resolve(code === 0));
    child.on("error", () => resolve(false));
  });
  if (!ok) return say("demo data could not be loaded completely; the system runs without it");
  mkdirSync(`${repoRoot}/.fanfare`, { recursive: true });
  writeFileSync(marker, new Date().toISOString());
}

/** Per-service database: the database name of PG_PRIMARY_URL / PG_REPLICA_URL is the service's own. */
function databaseUrls(database, replicaUrl) {
  const urls = { PG_PRIMARY_URL: withDatabase(PG_BASE, database) };
  if (replicaUrl) urls.PG_REPLICA_URL = withDatabase(replicaUrl, database);
  return urls;
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** JWT_SECRET from the environment, else one generated on first start and kept in .fanfare/. */
function jwtSecret() {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = `${repoRoot}/.fanfare/jwt-secret`;
  if (!existsSync(file)) {
    mkdirSync(`${repoRoot}/.fanfare`, { recursive: true });
    writeFileSync(file, randomBytes(48).toString("base64url"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}

function startService(service) {
  const child = spawn(process.execPath, [`services/${service.name}/dist/src/main.js`], {
    cwd: repoRoot,
    env: { ...process.env, ...service.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.serviceName = service.name;
  const prefix = process.stdout.isTTY ? `\x1b[${service.color}m${service.name.padEnd(12)}|\x1b[0m ` : `${service.name.padEnd(12)}| `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  return child;
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function waitForReady(url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`the mesh did not become ready within ${READY_TIMEOUT_MS / 1000}s (see the logs above)`);
}
