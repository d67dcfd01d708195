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

/**
 * The settings that give a feed deployment of a test's own a Redis of its own: database `db` of the
 * tests' server, or on a cluster (one keyspace) a key prefix of its own.
 */
export function separateRedisEnv(db: number): Record<string, string> {
  return CLUSTER_NODES.length > 0
    ? { REDIS_KEY_PREFIX: clusterPrefix(db) }
    : { REDIS_URL: `${testEnv.REDIS_URL.replace(/\/\d+$/, "")}/${db}` };
}

/** A client for a test's own look at Redis: the tests' database, or database `db` (separateRedisEnv); or the cluster. */
export function testRedis(db?: number): FeedRedis {
  if (CLUSTER_NODES.length > 0)
    return createRedis({ url: "", clusterNodes: CLUSTER_NODES, keyPrefix: db === undefined ? "" : clusterPrefix(db) });
  const url = db === undefined ? testEnv.REDIS_URL : separateRedisEnv(db).REDIS_URL!;
  return new Redis(url, { enableAutoPipelining: true });
}

function clusterPrefix(db: number): string {
  return `db${db}:`;
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
