import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Redis } from "ioredis";
import pg from "pg";
import { posts } from "@fanfare/contracts";
import { loadFeedConfig, startFeed, type RunningFeed } from "@fanfare/feed";
import { metricsRegistry } from "@fanfare/runtime/observability";
import { createGrpcClient } from "@fanfare/runtime/grpc";
import { drainNats, fanoutChunkSubject, type NatsConnection, STREAMS } from "@fanfare/runtime/events";
import { TEST_DATABASES, testEnv } from "../support/env.js";
import { natsConnection } from "../support/grpc.js";
import { eventually } from "../support/http.js";
import { mesh, type Mesh } from "../support/mesh.js";
import { removeCelebrity, seedCelebrity } from "../support/celebrity.js";
import { testRedis, separateRedisEnv } from "../support/redis.js";
import { killHard, spawnFeedProcess } from "../support/processes.js";
import { timelineMember } from "@fanfare/feed/data-access/post-ids.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

/** As the issue measured it: a feed replica killed in the middle of a 100K-follower fan-out. */
const FANS = 100_000;
/** Redis database of this test's own feed deployment, apart from the shared tests' database 1. */
const REDIS_DB = 2;
/** Fans connected to a live feed while the post fans out: each must be pushed it (at most) once, nobody else. */
const CONNECTED_FANS = 1_000;

async function landedChunks(delivery: "first" | "redelivery"): Promise<number> {
  const metric = metricsRegistry.getSingleMetric("feed_fanout_chunks_landed_total");
  const values = metric ? (await metric.get()).values : [];
  return values.filter((value) => value.labels.delivery === delivery).reduce((sum, value) => sum + value.value, 0);
}

/**
 * Crash tails: chunks held by a replica that dies are handed on after FANOUT_ACK_WAIT_MS (seconds),
 * every fan still gets the post once, and the chunks that moved are counted as redeliveries.
 */
describe("celebrity fan-out survives a replica killed mid-way", function () {
  this.timeout(180_000);
  let m: Mesh;
  let redis: Redis;
  let nats: NatsConnection;
  let survivor: RunningFeed;
  const prefix = `${testEnv.FEED_CONSUMER_PREFIX}-crash`;
  const star = randomUUID();

  before(async function () {
    this.timeout(120_000);
    m = await mesh();
    redis = testRedis(REDIS_DB) as Redis;
    nats = await natsConnection();
    await redis.flushdb(); // this test's own database: whatever an interrupted run left goes
    await seedCelebrity(redis, star, FANS);
  });
  after(async () => {
    await survivor?.stop();
    // Should the shared tests' feed have taken the star for a celebrity after all, its queued chunks go.
    const jsm = await nats.jetstreamManager();
    await jsm.streams.purge(STREAMS.fanout.name, { filter: fanoutChunkSubject(testEnv.FEED_CONSUMER_PREFIX) });
    await removeCelebrity(star);
    await redis.flushdb();
    redis.disconnect();
    await drainNats(nats);
  });

  const connectSomeFans = () => connectSomeFansIn(redis, star);

  it("delivers to every fan once, hands the dead replica's chunks on within seconds, and counts them as redeliveries", async () => {
    const env = {
      ...testEnv,
      SOCIAL_GRAPH_ADDR: m.addresses.socialGraph,
      POSTS_ADDR: m.addresses.posts,
      FEED_CONSUMER_PREFIX: prefix,
      ...separateRedisEnv(REDIS_DB),
      FANOUT_CHUNK_SIZE: "5000",
      // Slow chunks, so the victim surely holds some when it dies.
      FANOUT_CHUNK_PAUSE_MS: "300",
    };
    survivor = await startFeed(loadFeedConfig(env));
    const victim = await spawnFeedProcess(m.addresses, env);
    try {
      // Both replicas loaded the celebrity list at start (the flag was set in the database directly).
      // No graph.celebrity.changed is sent: the shared tests' feed would plan this fan-out too, in 3-fan chunks.
      expect(survivor.celebrities.isCelebrity(star)).to.equal(true);
      const redeliveredBefore = await landedChunks("redelivery");

      const connected = await connectSomeFans();
      const pushes = new Map<string, number>();
      const live = nats.subscribe("feed.live.>", {
        callback: (_error, message) => pushes.set(message.subject, (pushes.get(message.subject) ?? 0) + 1),
      });
      await nats.flush();

      const postsClient = createGrpcClient(posts.PostsServiceClient, m.addresses.posts);
      const { post } = await postsClient.createPost({ authorUserId: star, text: "Hello, little monsters" });
      postsClient.close();
      const postId = post!.id;
      const started = Date.now();
      await eventually(async () => expect(Number(await redis.hget(`fanout:{${postId}}`, "written"))).to.be.greaterThan(10_000), 30_000, 20);
      await killHard(victim);
      const killedAt = Date.now();

      await eventually(async () => expect(await redis.hget(`fanout:{${postId}}`, "finished")).to.be.a("string"), 60_000, 20);
      const finishedAt = Date.now();
      console.log(
        `      fan-out of ${FANS}: killed at ${killedAt - started} ms, finished at ${finishedAt - started} ms (tail after the kill ${finishedAt - killedAt} ms, FANOUT_ACK_WAIT_MS 3000)`,
      );

      const member = timelineMember(postId);
      const missing: string[] = [];
      for (let cursor = "0"; ;) {
        const [next, keys] = await redis.scan(cursor, "MATCH", redisKeys.timelinePattern, "COUNT", 5000);
        const scores = await Promise.all(keys.map((key) => redis.zscore(key, member)));
        keys.forEach((key, i) => scores[i] === null && missing.push(key));
        cursor = next;
        if (cursor === "0") break;
      }
      expect(missing.length, "fans without the post").to.equal(0);

      await nats.flush();
      live.unsubscribe();
      const pushedFans = [...pushes.keys()].map((subject) => subject.slice("feed.live.".length));
      console.log(
        `      live pushes: ${[...pushes.values()].reduce((a, b) => a + b, 0)} NATS messages for ${FANS} fans, ${CONNECTED_FANS} of them connected`,
      );
      expect(
        pushedFans.filter((fan) => !connected.has(fan)),
        "fans pushed to without a connection",
      ).to.deep.equal([]);
      expect(
        [...pushes.values()].filter((count) => count > 1),
        "fans pushed to twice",
      ).to.deep.equal([]);
      // A replica killed between a batch's write and its publish loses that batch's pushes (fire and forget).
      expect(pushes.size, "connected fans pushed to").to.be.greaterThan(CONNECTED_FANS / 2);
      expect(await landedChunks("redelivery"), "chunks the dead replica held, redelivered").to.be.greaterThan(redeliveredBefore);
    } finally {
      await killHard(victim);
    }
  });
});

/** Marks some fans connected, as a gateway would for their open WebSockets. */
async function connectSomeFansIn(redis: Redis, star: string): Promise<Set<string>> {
  const fans = new pg.Client({ connectionString: TEST_DATABASES.socialGraph });
  await fans.connect();
  try {
    const { rows } = await fans.query<{ user_id: string }>(
      "SELECT user_id FROM friendships WHERE friend_id = $1 ORDER BY random() LIMIT $2",
      [star, CONNECTED_FANS],
    );
    const pipeline = redis.pipeline();
    for (const { user_id: fan } of rows) pipeline.set(`live:{${fan}}`, "1", "PX", 120_000);
    await pipeline.exec();
    return new Set(rows.map((row) => row.user_id));
  } finally {
    await fans.end();
  }
}
