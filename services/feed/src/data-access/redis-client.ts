import { createHash } from "node:crypto";
import calculateSlot from "cluster-key-slot";
import { Cluster, Redis } from "ioredis";
import type { Logger } from "@fanfare/runtime/observability";

/** The feed's Redis: one server, or a Redis Cluster behind ioredis's Cluster client. Same code on both. */
export type FeedRedis = Redis | Cluster;

/** Where the feed's Redis is: a server URL, or the seed nodes of a cluster ("host:port,host:port"). */
export interface RedisTarget {
  url: string;
  clusterNodes: string[];
  /** Put before every key: deployments sharing one Redis (a cluster has only database 0) stay apart. */
  keyPrefix?: string;
}

/**
 * Retries a command that met a failover (its node's connection closed, CLUSTERDOWN, TRYAGAIN) every
 * this many ms, refreshing the slot map each time. A replica takes over a killed master within the
 * cluster's node timeout plus an election (2-3 s with cluster-node-timeout 2000 here).
 */
const FAILOVER_RETRY_MS = 150;
/**
 * Redirections and failover retries one command may take: 100 x 150 ms outlasts a failover with
 * the default 15 s cluster-node-timeout, so a reader waits instead of getting an error.
 */
const MAX_REDIRECTIONS = 100;
/** A single server that stops answering fails a command after this many reconnect attempts. */
const MAX_RETRIES_PER_REQUEST = 2;

/**
 * A client (the feed opens two: one for reads and small writes, one for fan-out's script runs).
 * Auto-pipelining sends every command issued in one event-loop tick in one socket write per
 * server: on a cluster that is one pipeline per master carrying many slots, which is how fan-out
 * batches and page reads reach each node.
 */
export function createRedis(target: RedisTarget): FeedRedis {
  const keyPrefix = target.keyPrefix ?? "";
  if (target.clusterNodes.length === 0) {
    return new Redis(target.url, { maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, enableAutoPipelining: true, keyPrefix });
  }
  const cluster = new Cluster(target.clusterNodes.map(parseNode), {
    enableAutoPipelining: true,
    keyPrefix,
    scaleReads: "master",
    maxRedirections: MAX_REDIRECTIONS,
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: FAILOVER_RETRY_MS,
    // A command in flight to a master that dies fails with "Connection is closed" and is retried
    // (above) on a refreshed slot map, until a replica has taken the master's slots over.
  });
  return followingRedirects(cluster);
}

/** Attempts of one command that keeps meeting MOVED/ASK while the client's slot map catches up. */
const MAX_REDIRECT_RETRIES = 10;
const REDIRECT_RETRY_MS = 50;

/**
 * ioredis follows MOVED for single commands, but an auto-pipelined batch that spans several slots of
 * a node fails every command with MOVED when those slots moved (a failover, a reshard; ioredis
 * issue 2075) and keeps routing by the stale map. A command answered MOVED or ASK was not run, so it
 * is safe to send again: the client refreshes its slot map and retries it. Everything else passes
 * through untouched.
 */
function followingRedirects(cluster: Cluster): Cluster {
  return new Proxy(cluster, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string" || UNWRAPPED.has(property)) return value;
      return (...args: unknown[]) => {
        const first: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(first instanceof Promise)) return first;
        return retryRedirected(target, first, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      };
    },
  });
}

/** Client plumbing, not commands: called as they are. */
const UNWRAPPED = new Set([
  "on",
  "once",
  "off",
  "emit",
  "removeListener",
  "nodes",
  "pipeline",
  "multi",
  "defineCommand",
  "duplicate",
  "quit",
  "disconnect",
  "connect",
]);

async function retryRedirected(cluster: Cluster, first: Promise<unknown>, again: () => Promise<unknown>): Promise<unknown> {
  let attempt = first;
  for (let retry = 0; ; retry++) {
    try {
      return await attempt;
    } catch (error) {
      if (!isRedirect(error) || retry >= MAX_REDIRECT_RETRIES) throw error;
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, REDIRECT_RETRY_MS));
      attempt = again();
    }
  }
}

function isRedirect(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK) /.test(error.message);
}

/**
 * Resolves once the client can serve commands: a cluster client has then learnt every node from
 * CLUSTER SLOTS (per-node settings need the list). A single server queues commands until it is up.
 */
export async function redisReady(redis: FeedRedis): Promise<void> {
  if (!(redis instanceof Cluster) || redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", resolve);
    redis.once("end", () => reject(new Error("Redis Cluster connection ended before it was ready")));
  });
}

function parseNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(":");
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/** Every server a setting must be applied to: the single server, or each node of the cluster. */
export function everyServer(redis: FeedRedis): Redis[] {
  return redis instanceof Cluster ? redis.nodes("all") : [redis];
}

/** The servers holding data to scan: the single server, or each master of the cluster. */
export function everyMaster(redis: FeedRedis): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/**
 * Splits keys' owners into groups one Lua script may touch together: all of them on a single
 * server; on a cluster those whose key hashes to one slot (a user's keys share a slot through their
 * hash tag, so `keyOf` names any one of them). Scripts of many slots issued together still travel
 * in one pipeline per master (auto-pipelining).
 */
export function groupBySlot<T>(redis: FeedRedis, owners: T[], keyOf: (owner: T) => string, maxGroup: number): T[][] {
  const groups = new Map<number, T[]>();
  for (const owner of owners) {
    const slot = redis instanceof Cluster ? calculateSlot(keyOf(owner)) : 0;
    const group = groups.get(slot);
    if (group) group.push(owner);
    else groups.set(slot, [owner]);
  }
  const batches: T[][] = [];
  for (const group of groups.values()) for (let i = 0; i < group.length; i += maxGroup) batches.push(group.slice(i, i + maxGroup));
  return batches;
}

/**
 * GET of many keys, in order: one MGET on a single server; on a cluster the keys hash to different
 * slots, so one GET each, which auto-pipelining sends together per master.
 */
export function getMany(redis: FeedRedis, keys: string[]): Promise<(Buffer | null)[]> {
  if (keys.length === 0) return Promise.resolve([]);
  if (redis instanceof Cluster) return Promise.all(keys.map((key) => redis.getBuffer(key)));
  return redis.mgetBuffer(...keys);
}

/**
 * A SCAN over every master: the cursor is "<master index>:<that master's cursor>", "0" when done.
 * On a single server it is that server's plain cursor with a "0:" in front.
 */
export async function scanAll(
  redis: FeedRedis,
  cursor: string,
  pattern: string,
  count: number,
): Promise<{ cursor: string; keys: string[] }> {
  await redisReady(redis);
  const masters = everyMaster(redis);
  const [index, nodeCursor] = cursor === "0" ? [0, "0"] : [Number(cursor.split(":")[0]), cursor.split(":")[1] ?? "0"];
  const node = masters[index];
  if (!node) return { cursor: "0", keys: [] };
  // ioredis prefixes the keys of commands, not SCAN's pattern, nor the keys SCAN returns.
  const prefix = redis.options.keyPrefix ?? "";
  const [next, found] = await node.scan(nodeCursor, "MATCH", prefix + pattern, "COUNT", count);
  const keys = found.map((key) => key.slice(prefix.length));
  if (next !== "0") return { cursor: `${index}:${next}`, keys };
  return { cursor: index + 1 < masters.length ? `${index + 1}:0` : "0", keys };
}

/**
 * A Lua script whose number of keys varies per call (a batch of users). Sent as EVALSHA, falling back
 * to EVAL when the server has not seen it (a restarted or newly promoted node). Scripts defined with
 * ioredis's defineCommand need a fixed key count to be routed and auto-pipelined on a cluster: with
 * a variable one, its first argument (the count) would be taken for the key.
 */
export class BatchScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run<T>(redis: FeedRedis, keys: string[], args: (string | number | Buffer)[]): Promise<T> {
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return (await redis.eval(this.lua, keys.length, ...keys, ...args)) as T;
    }
  }

  /** The same, strings in the answer left as bytes (binary members). */
  async runBuffer<T>(redis: FeedRedis, keys: string[], args: (string | number | Buffer)[]): Promise<T> {
    // ioredis has a Buffer form of every command but declares none for EVALSHA and EVAL; callBuffer,
    // which it declares, loses its command name under auto-pipelining.
    const scripting = redis as unknown as BufferScripting;
    try {
      return (await scripting.evalshaBuffer(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return (await scripting.evalBuffer(this.lua, keys.length, ...keys, ...args)) as T;
    }
  }
}

interface BufferScripting {
  evalshaBuffer(sha: string, numberOfKeys: number, ...keysAndArgs: (string | number | Buffer)[]): Promise<unknown>;
  evalBuffer(lua: string, numberOfKeys: number, ...keysAndArgs: (string | number | Buffer)[]): Promise<unknown>;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** Closes the client (every node's connection on a cluster). */
export async function closeRedis(redis: FeedRedis): Promise<void> {
  await redis.quit();
}

/**
 * Timelines are sorted sets with score 0 and 16-byte members, so they stay in Redis's compact
 * listpack encoding (about 20 bytes an entry) only if listpacks may hold a whole timeline. Applied
 * on every server (each cluster node encodes its own keys).
 */
export async function ensureCompactEncoding(redis: FeedRedis, maxItems: number, logger: Logger): Promise<void> {
  const wanted = { "zset-max-listpack-entries": maxItems + 1, "zset-max-listpack-value": 16 };
  for (const server of everyServer(redis)) {
    for (const [name, minimum] of Object.entries(wanted)) {
      try {
        const [, value] = (await server.config("GET", name)) as [string, string];
        if (Number(value) >= minimum) continue;
        await server.config("SET", name, String(minimum));
        logger.info(
          { setting: name, from: Number(value), to: minimum, server: serverName(server) },
          "raised Redis setting for compact timelines",
        );
      } catch (error) {
        logger.warn(
          { err: error, setting: name, minimum, server: serverName(server) },
          `cannot check or set ${name}; timelines may use ~7x more memory. Set ${name} >= ${minimum} in redis.conf`,
        );
      }
    }
  }
}

function serverName(server: Redis): string {
  return `${server.options.host ?? "?"}:${server.options.port ?? "?"}`;
}
