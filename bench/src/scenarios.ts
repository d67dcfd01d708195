import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { connect } from "nats";
import { events, feed, posts as postsContracts } from "@fanfare/contracts";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { HISTORY_CUT, MARKER_SCORE, timelineMember } from "@fanfare/feed/data-access/post-ids.js";
import { createRedis, everyMaster, redisReady, type FeedRedis } from "@fanfare/feed/data-access/redis-client.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";
import { callLoad, httpLoad, type LoadResult } from "./load.js";
import type { BenchMesh } from "./mesh.js";
import { percentile } from "./stats.js";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;

export interface BenchContext {
  mesh: BenchMesh;
  redisUrl: string;
  /** Seed nodes of the Redis Cluster the mesh runs on (--cluster); empty on a single server. */
  redisClusterNodes: string[];
  /** The NATS servers the mesh uses. */
  natsUrl: string;
  graphUrl: string;
  postsUrl: string;
  /** Reads in the pull rival go here: the replica when there is one. */
  graphReadUrl: string;
  postsReadUrl: string;
  seconds: number;
  repeats: number;
  password: string;
}

export async function login(ctx: BenchContext, userId: string): Promise<string> {
  const response = await fetch(`${ctx.mesh.gatewayUrl}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: userId, password: ctx.password }),
  });
  if (!response.ok) throw new Error(`login of ${userId}: ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/**
 * Each measurement `times` times, taking turns (a, b, c, a, b, c, ...), so that the machine's drift
 * over minutes (other tenants, caches, background writes) weighs on every path alike and the
 * ratios between them stay fair.
 */
async function interleaved(times: number, measures: Record<string, () => Promise<LoadResult>>): Promise<Record<string, LoadResult[]>> {
  const results: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(measures).map((name) => [name, []]));
  for (let i = 0; i < times; i++) for (const [name, measure] of Object.entries(measures)) results[name]!.push(await measure());
  return results;
}

async function repeat(times: number, measure: () => Promise<LoadResult>): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (let i = 0; i < times; i++) results.push(await measure());
  return results;
}

/** The reader of the feed-read scenarios: the user following the most people. */
export async function busiestReader(ctx: BenchContext): Promise<string> {
  const db = new pg.Client({ connectionString: ctx.graphUrl });
  await db.connect();
  try {
    return (await db.query<{ id: string }>("SELECT id FROM users ORDER BY friend_count DESC, id LIMIT 1")).rows[0]!.id;
  } finally {
    await db.end();
  }
}

/** Feed reads at each concurrency: gateway, gRPC GetFeed, the floor, and the pull rival; same reader. */
export async function feedReads(ctx: BenchContext, reader: string, concurrencies: number[]) {
  const token = await login(ctx, reader);
  const feedClient = createGrpcClient(feed.FeedServiceClient, ctx.mesh.addresses.feed);
  await feedClient.getFeed({ userId: reader, offset: 0, limit: 10 }); // warm: builds the timeline
  const floor = await startFloor(ctx.redisUrl);
  const pull = pullRival(ctx, reader);
  try {
    const byConcurrency: Record<number, Record<string, LoadResult[]>> = {};
    for (const c of concurrencies) {
      const paths: Record<string, () => Promise<LoadResult>> = {
        gateway: () =>
          httpLoad({
            url: `${ctx.mesh.gatewayUrl}/post/feed?limit=10`,
            connections: c,
            seconds: ctx.seconds,
            headers: { authorization: `Bearer ${token}` },
          }),
        grpc: () => callLoad(() => feedClient.getFeed({ userId: reader, offset: 0, limit: 10 }), c, ctx.seconds),
        floor: () => httpLoad({ url: `${floor.url}/feed?user=${reader}`, connections: c, seconds: ctx.seconds }),
        pull: () => callLoad(pull.query, c, ctx.seconds),
      };
      byConcurrency[c] = await interleaved(ctx.repeats, paths);
    }
    return byConcurrency;
  } finally {
    feedClient.close();
    floor.stop();
    await pull.close();
  }
}

async function startFloor(redisUrl: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [`${ROOT}bench/dist/floor-server.js`], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/**
 * The pull rival: fan-out on read in SQL, as the original's fallback and most homework solutions do
 * it: the reader's friends, then their newest posts through posts_author_recent, on the replica.
 */
export function pullRival(ctx: BenchContext, reader: string) {
  const graph = new pg.Pool({ connectionString: ctx.graphReadUrl, max: 32 });
  const postsDb = new pg.Pool({ connectionString: ctx.postsReadUrl, max: 32 });
  return {
    query: async () => {
      const friends = (await graph.query<{ friend_id: string }>("SELECT friend_id FROM friendships WHERE user_id = $1", [reader])).rows.map(
        (r) => r.friend_id,
      );
      await postsDb.query("SELECT id, author_id, text FROM posts WHERE author_id = ANY($1::uuid[]) ORDER BY id DESC LIMIT 10", [friends]);
    },
    close: async () => {
      await Promise.all([graph.end(), postsDb.end()]);
    },
  };
}

/** Redis bytes per timeline entry at 1000 entries: ours (score 0, 16-byte ids) against the default encoding with UUID strings. */
export async function timelineMemory(
  redisUrl: string,
): Promise<{ compact: number; compactEncoding: string; naive: number; naiveEncoding: string }> {
  const redis = new Redis(redisUrl);
  try {
    const base = Date.now();
    const compact: (number | Buffer)[] = [0, Buffer.from([0])];
    const naive: (number | string)[] = [];
    for (let i = 0; i < 1000; i++) {
      const bytes = Buffer.alloc(16);
      bytes.writeUIntBE(base + i, 0, 6);
      bytes.set(Buffer.from(randomUUID().replace(/-/g, ""), "hex").subarray(6), 6);
      compact.push(0, bytes);
      naive.push(base + i, randomUUID());
    }
    const [compactKey, naiveKey] = [`bench:mem:compact:${randomUUID()}`, `bench:mem:naive:${randomUUID()}`];
    await redis.call("ZADD", compactKey, ...compact);
    const [, listpackLimit] = (await redis.config("GET", "zset-max-listpack-entries")) as [string, string];
    await redis.config("SET", "zset-max-listpack-entries", "128"); // the default: what an untuned Redis does
    await redis.call("ZADD", naiveKey, ...naive);
    await redis.config("SET", "zset-max-listpack-entries", listpackLimit);
    const usage = async (key: string) => Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) / 1000;
    const result = {
      compact: await usage(compactKey),
      compactEncoding: String(await redis.call("OBJECT", "ENCODING", compactKey)),
      naive: await usage(naiveKey),
      naiveEncoding: String(await redis.call("OBJECT", "ENCODING", naiveKey)),
    };
    await redis.del(compactKey, naiveKey);
    return result;
  } finally {
    redis.disconnect();
  }
}

/** POST /post/create through the gateway. */
export async function writes(ctx: BenchContext, author: string): Promise<LoadResult[]> {
  const token = await login(ctx, author);
  return repeat(ctx.repeats, () =>
    httpLoad({
      url: `${ctx.mesh.gatewayUrl}/post/create`,
      method: "POST",
      connections: 16,
      seconds: ctx.seconds,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "bench write" }),
    }),
  );
}

/** Rebuilds run first and not counted: a cold cache in a warm process is the case measured, not JIT warm-up. */
const REBUILD_WARMUP_ROUNDS = 5;

/** Cold rebuild: the reader's timeline dropped, then one GetFeed; repeated. Latencies in ms. */
export async function coldRebuilds(ctx: BenchContext, reader: string, rounds: number): Promise<number[]> {
  const redis = new Redis(ctx.redisUrl);
  const feedClient = createGrpcClient(feed.FeedServiceClient, ctx.mesh.addresses.feed);
  try {
    const latencies: number[] = [];
    for (let i = 0; i < REBUILD_WARMUP_ROUNDS + rounds; i++) {
      await redis.del(redisKeys.timeline(reader), redisKeys.friends(reader));
      const started = performance.now();
      await feedClient.getFeed({ userId: reader, offset: 0, limit: 10 });
      if (i >= REBUILD_WARMUP_ROUNDS) latencies.push(performance.now() - started);
    }
    return latencies;
  } finally {
    feedClient.close();
    redis.disconnect();
  }
}

/**
 * Ordinary fan-out: an author with about `followers` followers (all active and connected to a live
 * feed, as a gateway marks them) posts; time until every timeline has it. The feed publishes
 * feed.live.<follower> right after the script run that wrote that follower's timeline, so the last
 * of those messages marks full delivery without polling Redis (polling would compete with the
 * fan-out for the same two cores). The timelines are checked once afterwards.
 */
export async function ordinaryFanOut(
  ctx: BenchContext,
  targetFollowers: number,
  rounds: number,
): Promise<{ author: string; followers: number; latencies: number[] }> {
  const db = new pg.Client({ connectionString: ctx.graphUrl });
  await db.connect();
  const { rows } = await db.query<{ id: string; follower_count: number }>(
    "SELECT id, follower_count FROM users WHERE NOT celebrity ORDER BY abs(follower_count - $1), id LIMIT 1",
    [targetFollowers],
  );
  const author = rows[0]!;
  const followers = (await db.query<{ user_id: string }>("SELECT user_id FROM friendships WHERE friend_id = $1", [author.id])).rows.map(
    (r) => r.user_id,
  );
  await db.end();
  const feedClient = createGrpcClient(feed.FeedServiceClient, ctx.mesh.addresses.feed);
  const postsClient = createGrpcClient(postsContracts.PostsServiceClient, ctx.mesh.addresses.posts);
  const redis = new Redis(ctx.redisUrl);
  const nats = await connect({ servers: ctx.natsUrl.split(",") });
  try {
    for (let i = 0; i < followers.length; i += 50)
      await Promise.all(followers.slice(i, i + 50).map((f) => feedClient.getFeed({ userId: f, offset: 0, limit: 1 })));
    const landed = new Map<string, Set<string>>();
    let onLanded = () => undefined as void;
    for (const follower of followers) {
      nats.subscribe(`feed.live.${follower}`, {
        callback: (_error, message) => {
          const { postId } = JSON.parse(new TextDecoder().decode(message.data)) as { postId: string };
          landed.set(postId, (landed.get(postId) ?? new Set()).add(follower));
          onLanded();
        },
      });
    }
    await nats.flush();
    const latencies: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Renewed each round, as a gateway renews its users' marks well within their 60 s.
      for (let j = 0; j < followers.length; j += 1000) await feedClient.markConnected({ userIds: followers.slice(j, j + 1000) });
      const started = performance.now();
      let postId = "";
      const everyone = new Promise<void>((resolve) => {
        onLanded = () => {
          if (postId && (landed.get(postId)?.size ?? 0) === followers.length) resolve();
        };
      });
      postId = (await postsClient.createPost({ authorUserId: author.id, text: `fan-out ${i}` })).post!.id;
      onLanded();
      await everyone;
      latencies.push(performance.now() - started);
      const member = timelineMember(postId);
      const scores = await Promise.all(followers.map((f) => redis.zscore(redisKeys.timeline(f), member)));
      if (scores.some((score) => score === null)) throw new Error(`post ${postId} announced but missing from a timeline`);
    }
    return { author: author.id, followers: followers.length, latencies };
  } finally {
    await nats.close();
    feedClient.close();
    postsClient.close();
    redis.disconnect();
  }
}

/**
 * Celebrity fan-out: a star with `fans` active followers posts; time to full delivery (from the
 * post's creation to the last chunk), progress over time, feed-read p99 during it against idle, and
 * timeline inserts/s against redis-benchmark's pipelined ZADD measured in the same run.
 */
export async function celebrityFanOut(ctx: BenchContext, fans: number, reader: string) {
  const star = randomUUID();
  const graph = new pg.Client({ connectionString: ctx.graphUrl });
  await graph.connect();
  const setup = performance.now();
  await graph.query(
    "INSERT INTO users (id, first_name, second_name, password_hash, follower_count, celebrity) VALUES ($1, 'Lady', 'Gaga', 'x', $2, true)",
    [star, fans],
  );
  await graph.query(
    `WITH f AS (INSERT INTO users (id, first_name, second_name, password_hash, friend_count) SELECT gen_random_uuid(), 'Fan', 'Fan', 'x', 1 FROM generate_series(1, $1) RETURNING id)
     INSERT INTO friendships (user_id, friend_id) SELECT id, $2 FROM f`,
    [fans, star],
  );
  // A million follows arriving over months would have been analyzed and vacuumed by autovacuum by now.
  await graph.query("VACUUM ANALYZE users");
  await graph.query("VACUUM ANALYZE friendships");
  const redis = createRedis({ url: ctx.redisUrl, clusterNodes: ctx.redisClusterNodes });
  const memoryBefore = await usedMemory(redis);
  // Fans' timelines in pages: a million ids held at once would leave this process (the load
  // generator) with a big old heap whose collections show up as read-latency spikes.
  for (let after = ""; ;) {
    const { rows } = await graph.query<{ user_id: string }>(
      "SELECT user_id FROM friendships WHERE friend_id = $1 AND user_id > $2::uuid ORDER BY user_id LIMIT 10000",
      [star, after || "00000000-0000-0000-0000-000000000000"],
    );
    if (rows.length === 0) break;
    // Plain commands: auto-pipelining sends them in one pipeline per server (per master on a cluster).
    await Promise.all(
      rows.flatMap(({ user_id }) => [
        redis.zadd(redisKeys.timeline(user_id), MARKER_SCORE, HISTORY_CUT),
        redis.expire(redisKeys.timeline(user_id), 86_400),
        redis.sadd(redisKeys.friends(user_id), star),
        redis.expire(redisKeys.friends(user_id), 86_400),
      ]),
    );
    after = rows[rows.length - 1]!.user_id;
  }
  const memoryPerFan = ((await usedMemory(redis)) - memoryBefore) / fans;
  await settle(graph, ctx.graphReadUrl);
  await graph.end();
  const setupSeconds = (performance.now() - setup) / 1000;
  const nats = await connect({ servers: ctx.natsUrl.split(",") });
  nats.publish(
    "graph.celebrity.changed",
    events.CelebrityChanged.encode({
      eventId: randomUUID(),
      userId: star,
      celebrity: true,
      followerCount: fans,
      occurredAt: new Date(),
    }).finish(),
  );
  await nats.drain();
  await new Promise((resolve) => setTimeout(resolve, 500));

  const token = await login(ctx, reader);
  const feedClient = createGrpcClient(feed.FeedServiceClient, ctx.mesh.addresses.feed);
  const postsClient = createGrpcClient(postsContracts.PostsServiceClient, ctx.mesh.addresses.posts);
  try {
    // The star posts `repeats` times to the same fans: every figure gets its min/median/max.
    const runs: CelebrityRun[] = [];
    for (let i = 0; i < ctx.repeats; i++)
      runs.push(await celebrityPost(ctx, { star, fans, token, feedClient, postsClient, redis, text: `Hello, little monsters #${i + 1}` }));
    return { fans, setupSeconds, memoryPerFan, runs };
  } finally {
    feedClient.close();
    postsClient.close();
    redis.disconnect();
  }
}

/** Bytes Redis holds, summed over every master. */
async function usedMemory(redis: FeedRedis): Promise<number> {
  await redisReady(redis);
  const infos = await Promise.all(everyMaster(redis).map((server) => server.info("memory")));
  return infos.reduce((sum, info) => sum + Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), 0);
}

export interface CelebrityRun {
  durationMs: number;
  insertsPerSecond: number;
  zaddRate: number;
  idle: LoadResult;
  during: LoadResult;
  progress: { t: number; written: number }[];
  /**
   * Where the fan-out's bound lies: Redis's CPU over the delivery as a share of one core, its CPU per
   * timeline insert (the reads' share taken out: their Redis CPU per read measured idle just before,
   * times the reads made during the delivery), and per command of the redis-benchmark run.
   */
  redis: { busy: number; usPerInsert: number; usPerZadd: number };
}

/**
 * One celebrity post: feed reads while idle, then the post with the same read load running, its
 * progress polled until the last chunk lands, then redis-benchmark's ZADD for the ceiling.
 */
async function celebrityPost(
  ctx: BenchContext,
  run: {
    star: string;
    fans: number;
    token: string;
    text: string;
    feedClient: PromiseClient<feed.FeedServiceClient>;
    postsClient: PromiseClient<postsContracts.PostsServiceClient>;
    redis: FeedRedis;
  },
): Promise<CelebrityRun> {
  const readLoad = () =>
    httpLoad({
      url: `${ctx.mesh.gatewayUrl}/post/feed?limit=10`,
      connections: 16,
      seconds: ctx.seconds,
      headers: { authorization: `Bearer ${run.token}` },
    });
  const idleCpu = await redisCpuSeconds(run.redis);
  const idle = await readLoad();
  const deliveryCpu = await redisCpuSeconds(run.redis);
  const redisCpuPerRead = (deliveryCpu - idleCpu) / (idle.rps * ctx.seconds);
  const started = performance.now();
  const { post } = await run.postsClient.createPost({ authorUserId: run.star, text: run.text });
  const progress: { t: number; written: number }[] = [];
  const during = readLoad();
  for (;;) {
    const state = await run.feedClient.getFanoutProgress({ postId: post!.id });
    progress.push({ t: (performance.now() - started) / 1000, written: state.timelinesWritten });
    if (state.done) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const durationMs = performance.now() - started;
  const deliveryCpuSeconds = (await redisCpuSeconds(run.redis)) - deliveryCpu;
  const duringReads = await during;
  const readsInDelivery = duringReads.rps * Math.min(ctx.seconds, durationMs / 1000);
  const zaddCpu = await redisCpuSeconds(run.redis);
  const zaddRate = await redisBenchmarkZadd(ctx.redisClusterNodes[0] ?? ctx.redisUrl, ctx.redisClusterNodes.length > 0);
  const zaddCpuSeconds = (await redisCpuSeconds(run.redis)) - zaddCpu;
  return {
    durationMs,
    insertsPerSecond: run.fans / (durationMs / 1000),
    zaddRate,
    idle,
    during: duringReads,
    progress,
    redis: {
      busy: deliveryCpuSeconds / (durationMs / 1000),
      usPerInsert: (1e6 * (deliveryCpuSeconds - redisCpuPerRead * readsInDelivery)) / run.fans,
      usPerZadd: (1e6 * zaddCpuSeconds) / ZADD_BENCHMARK_COMMANDS,
    },
  };
}

/** CPU seconds Redis has used (user + system), summed over every master. */
async function redisCpuSeconds(redis: FeedRedis): Promise<number> {
  const infos = await Promise.all(everyMaster(redis).map((server) => server.info("cpu")));
  return infos.reduce(
    (sum, info) => sum + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0),
    0,
  );
}

/**
 * Lets the bulk setup finish its after-effects before anything is timed: a checkpoint now rather
 * than during the idle measurement, and the replica (where the services read) caught up.
 */
async function settle(leader: pg.Client, replicaUrl: string): Promise<void> {
  await leader.query("CHECKPOINT");
  const { rows } = await leader.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  const replica = new pg.Client({ connectionString: replicaUrl });
  await replica.connect();
  try {
    const { rows: recovering } = await replica.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
    while (recovering[0]?.standby) {
      const { rows: replayed } = await replica.query<{ caught: boolean }>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught", [
        rows[0]!.lsn,
      ]);
      if (replayed[0]?.caught) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await replica.end();
  }
}

/** Commands of one redis-benchmark ZADD run: enough for a steady rate, a second or two. */
const ZADD_BENCHMARK_COMMANDS = 200_000;

/**
 * redis-benchmark's pipelined ZADD (-P 16) against the same Redis: the ceiling for timeline inserts.
 * On a cluster (`--cluster`) it spreads the keys over every master, as fan-out does.
 */
async function redisBenchmarkZadd(server: string, cluster: boolean): Promise<number> {
  const url = new URL(cluster ? `redis://${server}` : server);
  const { stdout } = await run("redis-benchmark", [
    "-h",
    url.hostname,
    "-p",
    url.port || "6379",
    ...(cluster ? ["--cluster"] : []),
    "-n",
    String(ZADD_BENCHMARK_COMMANDS),
    "-P",
    "16",
    "-r",
    "100000",
    "-t",
    "zadd",
    "--csv",
    "-q",
  ]);
  const line = stdout.split("\n").find((l) => l.includes("ZADD"));
  return Number(line?.split(",")[1]?.replace(/"/g, "") ?? NaN);
}

export { percentile };
