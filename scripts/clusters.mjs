// Local clusters for development and `npm run test:cluster`, from the binaries already on the
// machine (Debian's redis-server, redis-cli and nats-server): a Redis Cluster of 3 masters + 3
// replicas and a 3-node NATS JetStream cluster, on ports clear of the single servers' defaults and
// below Linux's ephemeral range. Their files live under .fanfare/clusters/.
//
//   node scripts/clusters.mjs start    # start both (idempotent), print the settings that point at them
//   node scripts/clusters.mjs stop     # stop both and delete their files
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { repoRoot, run, say } from "./lib.mjs";

const DIR = `${repoRoot}/.fanfare/clusters`;
export const REDIS_CLUSTER_PORTS = [17001, 17002, 17003, 17004, 17005, 17006];
/** Client, route and monitoring ports of the three NATS servers. */
export const NATS_NODES = [14222, 14223, 14224].map((port, i) => ({ name: `n${i + 1}`, port, route: 16222 + i, http: 18222 + i }));
/**
 * A master unreachable this long is failed over to its replica. Redis's default is 15 s; 2 s keeps the
 * fault tests short and is still far above a loaded machine's pauses.
 */
const REDIS_NODE_TIMEOUT_MS = 2_000;
const READY_TIMEOUT_MS = 60_000;

/** The environment that points the mesh at the local clusters. */
export function clusterEnv() {
  return {
    REDIS_CLUSTER_NODES: REDIS_CLUSTER_PORTS.map((port) => `127.0.0.1:${port}`).join(","),
    NATS_URL: NATS_NODES.map((node) => `nats://127.0.0.1:${node.port}`).join(","),
    NATS_STREAM_REPLICAS: "3",
  };
}

export async function startClusters() {
  await ensureBinaries();
  mkdirSync(DIR, { recursive: true });
  await startRedisCluster();
  await startNatsCluster();
  return clusterEnv();
}

export async function stopClusters() {
  for (const port of REDIS_CLUSTER_PORTS) stopPid(`${DIR}/redis-${port}/redis.pid`);
  for (const node of NATS_NODES) stopPid(`${DIR}/nats-${node.name}/nats.pid`);
  await sleep(500);
  rmSync(DIR, { recursive: true, force: true });
}

/** Starts one Redis Cluster node (again, after a kill: it rejoins from its nodes.conf). */
export async function startRedisNode(port) {
  const dir = `${DIR}/redis-${port}`;
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  await run("redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "yes",
    "--cluster-enabled", "yes", "--cluster-config-file", `${dir}/nodes.conf`, "--cluster-node-timeout", String(REDIS_NODE_TIMEOUT_MS),
    "--save", "", "--appendonly", "no", "--dir", dir, "--pidfile", `${dir}/redis.pid`, "--logfile", `${dir}/redis.log`,
  ], { quiet: true });
  await waitForPort(port);
}

/** Starts one NATS server of the cluster (again, after a kill: its JetStream files are kept). */
export async function startNatsNode(node) {
  const dir = `${DIR}/nats-${node.name}`;
  mkdirSync(dir, { recursive: true });
  const routes = NATS_NODES.map((peer) => `nats-route://127.0.0.1:${peer.route}`).join(", ");
  writeFileSync(
    `${dir}/nats.conf`,
    `server_name: ${node.name}
listen: 127.0.0.1:${node.port}
http: 127.0.0.1:${node.http}
pid_file: "${dir}/nats.pid"
log_file: "${dir}/nats.log"
jetstream { store_dir: "${dir}/js", max_memory_store: 256MB, max_file_store: 4GB }
cluster { name: fanfare-local, listen: 127.0.0.1:${node.route}, routes: [${routes}] }
`,
  );
  spawn("nats-server", ["-c", `${dir}/nats.conf`], { detached: true, stdio: "ignore" }).unref();
  await waitForPort(node.port);
}

async function startRedisCluster() {
  const running = await Promise.all(REDIS_CLUSTER_PORTS.map(isListening));
  if (running.every(Boolean) && (await redisClusterState()) === "ok") {
    say(`Redis Cluster already running on ${REDIS_CLUSTER_PORTS.join(", ")}`);
    return;
  }
  for (const port of REDIS_CLUSTER_PORTS) if (!(await isListening(port))) await startRedisNode(port);
  if ((await redisClusterState()) !== "ok") {
    const nodes = REDIS_CLUSTER_PORTS.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "1", "--cluster-yes"], { quiet: true });
  }
  await until(redisClusterHealthy, "the Redis Cluster to be ok");
  say(`Redis Cluster up: 3 masters + 3 replicas on ${REDIS_CLUSTER_PORTS.join(", ")}`);
}

async function startNatsCluster() {
  for (const node of NATS_NODES) if (!(await isListening(node.port))) await startNatsNode(node);
  await until(async () => (await jetStreamMetaLeader()) !== undefined, "the JetStream cluster to elect a meta leader");
  say(`NATS JetStream cluster up: ${NATS_NODES.map((node) => node.port).join(", ")} (meta leader ${await jetStreamMetaLeader()})`);
}

/** The JetStream meta leader's name, as one of the servers reports it; undefined while there is none. */
export async function jetStreamMetaLeader() {
  for (const node of NATS_NODES) {
    try {
      const response = await fetch(`http://127.0.0.1:${node.http}/jsz`, { signal: AbortSignal.timeout(1_000) });
      const leader = (await response.json()).meta_cluster?.leader;
      if (leader) return leader;
    } catch {
      // that server is down or starting; ask the next
    }
  }
  return undefined;
}

/** The cluster says ok, and every master is up with its replica attached (again, after a failover). */
export async function redisClusterHealthy() {
  return (await redisClusterState()) === "ok" && (await redisReplicasAttached());
}

async function redisClusterState() {
  return new Promise((resolve) => {
    const child = spawn("redis-cli", ["-p", String(REDIS_CLUSTER_PORTS[0]), "cluster", "info"], { stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.on("exit", () => resolve(/cluster_state:(\w+)/.exec(output)?.[1]));
    child.on("error", () => resolve(undefined));
  });
}

async function redisReplicasAttached() {
  return new Promise((resolve) => {
    const child = spawn("redis-cli", ["-p", String(REDIS_CLUSTER_PORTS[0]), "cluster", "nodes"], { stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.on("exit", () => {
      const lines = output.trim().split("\n");
      const masters = lines.filter((line) => /\bmaster\b/.test(line) && !/\bfail\b/.test(line)).length;
      const replicas = lines.filter((line) => /\bslave\b/.test(line) && / connected/.test(line)).length;
      resolve(masters === 3 && replicas === 3);
    });
    child.on("error", () => resolve(false));
  });
}

async function ensureBinaries() {
  const missing = ["redis-server", "redis-cli", "nats-server"].filter(
    (binary) => !["/usr/bin/", "/usr/sbin/", "/usr/local/bin/"].some((dir) => existsSync(dir + binary)),
  );
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(`the local clusters need ${missing.join(", ")}: install redis-server, redis-tools and nats-server`);
  say(`installing ${missing.join(", ")} (apt-get)`);
  await run("apt-get", ["update", "-qq"], { quiet: true });
  await run("apt-get", ["install", "-y", "-qq", "redis-server", "redis-tools", "nats-server"], {
    quiet: true,
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
}

function stopPid(pidFile) {
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
  } catch {
    // already gone
  }
}

function isListening(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForPort(port) {
  await until(() => isListening(port), `port ${port} to accept connections`);
}

async function until(check, what) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const command = process.argv[2];
  const main = command === "start" ? startClusters : command === "stop" ? stopClusters : undefined;
  if (!main) {
    process.stderr.write("usage: node scripts/clusters.mjs start|stop\n");
    process.exit(2);
  }
  main().then(
    (env) => {
      if (env) for (const [name, value] of Object.entries(env)) process.stdout.write(`${name}=${value}\n`);
    },
    (error) => {
      process.stderr.write(`[fanfare] ${error.message}\n`);
      process.exit(1);
    },
  );
}
