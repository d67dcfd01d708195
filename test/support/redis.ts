import { Redis } from "ioredis";
import { createRedis, everyMaster, redisReady, scanAll, type FeedRedis } from "@fanfare/feed/data-access/redis-client.js";

export { redisReady };
import { testEnv } from "./env.js";

/**
 * The tests' Redis: a database of the machine's server (each suite that flushes has its own), or,
 * under `npm run test:cluster`, the local Redis Cluster (REDIS_CLUSTER_NODES), which has one
 * keyspace: there suites share it, and stay apart by using fresh users.
 */
export const CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES ? process.env.REDIS_CLUSTER_NODES.split(",") : [];

/** The URL of database `db` of the tests' server (ignored on a cluster, where REDIS_CLUSTER_NODES wins). */
export function testRedisUrl(db: number): string {
  return `${testEnv.REDIS_URL.replace(/\/\d+$/, "")}/${db}`;
}

/** A client for a test's own look at Redis: database `db`, or the cluster. */
export function testRedis(db?: number): FeedRedis {
  if (CLUSTER_NODES.length > 0) return createRedis({ url: "", clusterNodes: CLUSTER_NODES });
  return new Redis(db === undefined ? testEnv.REDIS_URL : testRedisUrl(db), { enableAutoPipelining: true });
}

/** Empties the database, or every master of the cluster. */
export async function flushTestRedis(redis: FeedRedis): Promise<void> {
  await redisReady(redis);
  await Promise.all(everyMaster(redis).map((server) => server.flushdb()));
}

/** Every key matching `pattern`, from every master. */
export async function keysMatching(redis: FeedRedis, pattern: string): Promise<string[]> {
  await redisReady(redis);
  const keys: string[] = [];
  for (let cursor = "0"; ;) {
    const step = await scanAll(redis, cursor, pattern, 5_000);
    keys.push(...step.keys);
    cursor = step.cursor;
    if (cursor === "0") return keys;
  }
}
