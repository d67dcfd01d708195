// The local clusters of `npm run test:cluster` (scripts/clusters.mjs started them): their files, and
// restarting a node a fault test killed. The script is plain JavaScript, loaded from the repository.
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync } from "node:fs";

interface ClusterScript {
  startRedisNode(port: number): Promise<void>;
  startNatsNode(node: { name: string; port: number; route: number; http: number }): Promise<void>;
  jetStreamMetaLeader(): Promise<string | undefined>;
  redisClusterHealthy(): Promise<boolean>;
  NATS_NODES: { name: string; port: number; route: number; http: number }[];
}

const ROOT = new URL("../../../", import.meta.url).pathname;
const script = () => import(new URL("scripts/clusters.mjs", `file://${ROOT}`).href) as Promise<ClusterScript>;

export function clusterDir(): string {
  return `${ROOT}.fanfare/clusters`;
}

export async function restartRedisNode(port: number): Promise<void> {
  await (await script()).startRedisNode(port);
}

/** Until every master has a live replica again and the cluster says ok. */
export async function waitForHealthyRedisCluster(timeoutMs = 60_000): Promise<void> {
  const clusters = await script();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await clusters.redisClusterHealthy()) return;
    await sleep(250);
  }
  throw new Error("the Redis Cluster did not become healthy again");
}

export async function natsNodes(): Promise<ClusterScript["NATS_NODES"]> {
  return (await script()).NATS_NODES;
}

export async function restartNatsNode(name: string): Promise<void> {
  const clusters = await script();
  await clusters.startNatsNode(clusters.NATS_NODES.find((node) => node.name === name)!);
}

/** The server name of a stream's leader, as JetStream reports it; undefined during an election. */
export async function streamLeader(stream: string): Promise<string | undefined> {
  for (const node of await natsNodes()) {
    try {
      const response = await fetch(`http://127.0.0.1:${node.http}/jsz?streams=true&raft=true`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[] };
      for (const account of body.account_details ?? [])
        for (const detail of account.stream_detail ?? [])
          if (detail.name === stream && detail.cluster?.leader) return detail.cluster.leader;
    } catch {
      // that server is down; ask the next
    }
  }
  return undefined;
}

/**
 * Until every server answers and each stream's leader sees all its replicas current again. Only the
 * leader's view counts: the other servers keep a stale picture of the replicas.
 */
export async function waitForHealthyJetStream(timeoutMs = 60_000): Promise<void> {
  const nodes = await natsNodes();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const views = await Promise.all(
        nodes.map(async (node) => {
          const response = await fetch(`http://127.0.0.1:${node.http}/jsz?streams=true`, { signal: AbortSignal.timeout(1_000) });
          const body = (await response.json()) as {
            account_details?: { stream_detail?: { name: string; cluster?: { leader?: string; replicas?: { current: boolean }[] } }[] }[];
          };
          return { node: node.name, streams: (body.account_details ?? []).flatMap((account) => account.stream_detail ?? []) };
        }),
      );
      const led = views.flatMap((view) => view.streams.filter((stream) => stream.cluster?.leader === view.node));
      const names = new Set(views.flatMap((view) => view.streams.map((stream) => stream.name)));
      const healthy = new Set(
        led.filter((stream) => (stream.cluster?.replicas ?? []).every((replica) => replica.current)).map((stream) => stream.name),
      );
      if ([...names].every((name) => healthy.has(name))) return;
    } catch {
      // a server is still starting
    }
    await sleep(250);
  }
  throw new Error("the JetStream cluster did not become healthy again");
}

export function natsPid(name: string): number {
  return Number(readFileSync(`${clusterDir()}/nats-${name}/nats.pid`, "utf8").trim());
}
