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
 * Feed processes that handle events (fan-out, celebrity chunks) beside one serving reads only
 * (FEED_ROLE=reads); 0, the default, runs one feed doing both, as the default deployment does. One
 * A/B here (BENCH_FEED_WORKERS=1 against 0): reads during a 500K-fan celebrity fan-out p99 46-66 ms
 * against 61-73 (ratio to idle 1.8-2.2x against 1.9-2.7x), live pushes p99 100-103 ms against 67-73.
 */
const FEED_WORKERS = Number(process.env.BENCH_FEED_WORKERS ?? 0);

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
    start("feed", { ...common, GRPC_PORT: String(feed), METRICS_PORT: String(feedMetrics), FEED_ROLE: FEED_WORKERS > 0 ? "reads" : "all" }),
    ...workerPorts.map((port) => start("feed", { ...common, GRPC_PORT: String(port), FEED_ROLE: "all" })),
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

function start(service: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [...SERVICE_NODE_ARGS, `${ROOT}services/${service}/dist/src/main.js`], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
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
