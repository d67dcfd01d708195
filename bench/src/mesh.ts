import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "@fanfare/runtime/testing";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface BenchMesh {
  gatewayUrl: string;
  addresses: { socialGraph: string; posts: string; feed: string };
  feedMetricsUrl: string;
  stop(): Promise<void>;
}

/**
 * Feed processes that write celebrities' fan-out chunks (FEED_ROLE=chunks) beside the one serving
 * reads and handling events (FEED_ROLE=reads,events), as the Kubernetes deployment runs them
 * (deploy/k8s/base/feed.yaml: feed and feed-chunks); 0 runs one feed doing all of it, as Compose and
 * `npm start` do. A/B runs of 3 posts each to 1M fans on this machine running slow (ZADD
 * 135-226K/s), chunks and events together in the worker: reads' p99 during the fan-out 1.39-1.48x
 * idle with the worker at niceness 19, 1.52-1.77x at 10, 2.33-3.05x with no worker; delivery about
 * the same (16.1-16.9, 15.7-18.6, 16.6-19.1 s). Live pushes (post -> WebSocket p99) were 95 ms with
 * events in a worker at 19, 57 ms at 0: so events stay with reads, and only chunks are deprioritised.
 */
const FEED_WORKERS = Number(process.env.BENCH_FEED_WORKERS ?? 1);
/**
 * The chunk workers' niceness: on one machine, the stand-in for the CPU weight Kubernetes gives
 * feed-chunks from its request (10m against the feed's 500m; niceness 19 weighs 15 against 1024).
 */
const FEED_WORKER_NICE = Number(process.env.BENCH_FEED_WORKER_NICE ?? 19);

/**
 * The services as separate processes, as in production, on free ports, against the bench's own
 * databases, Redis database and consumer names. The load generator stays in this process.
 */
export async function startBenchMesh(env: Record<string, string>): Promise<BenchMesh> {
  const [sg, posts, feed, gateway, feedMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const workerPorts = await Promise.all(Array.from({ length: FEED_WORKERS }, () => freePort()));
  const addresses = { socialGraph: `127.0.0.1:${sg}`, posts: `127.0.0.1:${posts}`, feed: `127.0.0.1:${feed}` };
  const common = {
    ...process.env,
    ...env,
    LOG_LEVEL: "warn",
    SOCIAL_GRAPH_ADDR: addresses.socialGraph,
    POSTS_ADDR: addresses.posts,
    FEED_ADDR: addresses.feed,
  };
  const children: ChildProcess[] = [
    start("social-graph", {
      ...common,
      GRPC_PORT: String(sg),
      PG_PRIMARY_URL: env.SOCIAL_GRAPH_PG!,
      ...(env.SOCIAL_GRAPH_PG_REPLICA ? { PG_REPLICA_URL: env.SOCIAL_GRAPH_PG_REPLICA } : {}),
    }),
    start("posts", {
      ...common,
      GRPC_PORT: String(posts),
      PG_PRIMARY_URL: env.POSTS_PG!,
      ...(env.POSTS_PG_REPLICA ? { PG_REPLICA_URL: env.POSTS_PG_REPLICA } : {}),
    }),
    start("feed", {
      ...common,
      GRPC_PORT: String(feed),
      METRICS_PORT: String(feedMetrics),
      FEED_ROLE: FEED_WORKERS > 0 ? "reads,events" : "all",
    }),
    ...workerPorts.map((port) => start("feed", { ...common, GRPC_PORT: String(port), FEED_ROLE: "chunks" }, FEED_WORKER_NICE)),
    start("gateway", { ...common, GATEWAY_PORT: String(gateway) }),
  ];
  const gatewayUrl = `http://127.0.0.1:${gateway}`;
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : (child.once("exit", resolve), child.kill("SIGTERM")))),
      ),
    );
  };
  await waitForReady(`${gatewayUrl}/readyz`).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { gatewayUrl, addresses, feedMetricsUrl: `http://127.0.0.1:${feedMetrics}/metrics`, stop };
}

/** Extra node flags for every service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a scenario. */
const SERVICE_NODE_ARGS = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean);

function start(service: string, env: NodeJS.ProcessEnv, niceness = 0): ChildProcess {
  const node = [process.execPath, ...SERVICE_NODE_ARGS, `${ROOT}services/${service}/dist/src/main.js`];
  // nice(1) execs node in its place, so every thread of the process starts at that niceness.
  const [command, ...args] = niceness > 0 ? ["nice", "-n", String(niceness), ...node] : node;
  const child = spawn(command!, args, { env, stdio: ["ignore", "ignore", "inherit"] });
  child.on("exit", (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`bench: ${service} exited with code ${code}\n`);
  });
  return child;
}

async function waitForReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (
      await fetch(url).then(
        (res) => res.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the bench mesh did not become ready (${url})`);
}
