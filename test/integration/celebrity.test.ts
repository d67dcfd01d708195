import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { events, feed, posts, socialgraph } from "@fanfare/contracts";
import { testRedis, separateRedisEnv } from "../support/redis.js";
import { loadFeedConfig, startFeed } from "@fanfare/feed";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { drainNats, type NatsConnection } from "@fanfare/runtime/events";
import { freePort } from "@fanfare/runtime/testing";
import { testEnv } from "../support/env.js";
import { collectEvents, natsConnection, itAsCaller } from "../support/grpc.js";
import { eventually } from "../support/http.js";
import { mesh, type Mesh } from "../support/mesh.js";
import { isPostMember, timelineMember } from "@fanfare/feed/data-access/post-ids.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

const THRESHOLD = Number(testEnv.CELEBRITY_THRESHOLD);
const CHUNK = Number(testEnv.FANOUT_CHUNK_SIZE);
const FEED_MAIN = new URL("../../../services/feed/dist/src/main.js", import.meta.url).pathname;

describe("celebrities: threshold flag, chunked fan-out, read-time merge", function () {
  this.timeout(90_000);
  let m: Mesh;
  let graph: PromiseClient<socialgraph.SocialGraphServiceClient>;
  let postsClient: PromiseClient<posts.PostsServiceClient>;
  let feedClient: PromiseClient<feed.FeedServiceClient>;
  let nats: NatsConnection;

  before(async () => {
    m = await mesh();
    graph = createGrpcClient(socialgraph.SocialGraphServiceClient, m.addresses.socialGraph);
    postsClient = createGrpcClient(posts.PostsServiceClient, m.addresses.posts);
    feedClient = createGrpcClient(feed.FeedServiceClient, m.addresses.feed);
    nats = await natsConnection();
  });
  after(async () => {
    [graph, postsClient, feedClient].forEach((client) => client.close());
    await drainNats(nats);
  });

  const newUser = async () =>
    (
      await graph.registerUser({
        firstName: "Фанат",
        secondName: randomUUID().slice(0, 8),
        birthdate: "",
        biography: "",
        city: "",
        password: "pw",
      })
    ).user!.id;
  const newUsers = (n: number) => Promise.all(Array.from({ length: n }, () => newUser()));
  const celebrity = async (id: string) => (await graph.getUser({ userId: id })).user!.celebrity;
  const post = async (author: string, text = "новость") => (await postsClient.createPost({ authorUserId: author, text })).post!;
  const flush = () => Promise.all([m.posts.flushOutbox(), m.socialGraph.flushOutbox()]);
  const feedIds = async (userId: string, client = feedClient) =>
    (await client.getFeed({ userId, offset: 0, limit: 100 })).posts.map((p) => p.id);
  const followAll = (fans: string[], star: string) => Promise.all(fans.map((fan) => graph.addFriend({ userId: fan, friendId: star })));

  /** A star with `fans` followers, known as a celebrity to the shared feed, each fan with a cached timeline. */
  async function celebrityWithFans(fanCount: number, client = feedClient) {
    const star = await newUser();
    const fans = await newUsers(fanCount);
    await Promise.all(fans.map((fan) => client.getFeed({ userId: fan, offset: 0, limit: 1 })));
    await followAll(fans, star);
    await flush();
    return { star, fans };
  }

  itAsCaller("flips the flag at the threshold and clears it below, under concurrent follows, with events", async () => {
    const star = await newUser();
    const fans = await newUsers(THRESHOLD + 2);
    const changes = collectEvents(nats, "graph.celebrity.changed");
    await nats.flush();
    try {
      await followAll(fans.slice(0, THRESHOLD - 1), star);
      expect(await celebrity(star)).to.equal(false);
      await Promise.all([followAll(fans.slice(THRESHOLD - 1), star), followAll(fans.slice(THRESHOLD - 1), star)]);
      expect((await graph.getUser({ userId: star })).user).to.include({ followerCount: THRESHOLD + 2, celebrity: true });
      await Promise.all(fans.slice(0, 3).map((fan) => graph.removeFriend({ userId: fan, friendId: star })));
      expect((await graph.getUser({ userId: star })).user).to.include({ followerCount: THRESHOLD - 1, celebrity: false });
      expect((await graph.listCelebrities({})).userIds).not.to.include(star);
      await flush();
      await eventually(async () => {
        const mine = changes.messages.map((msg) => events.CelebrityChanged.decode(msg.data)).filter((e) => e.userId === star);
        expect(mine.map((e) => e.celebrity)).to.deep.equal([true, false]);
      });
    } finally {
      await changes.stop();
    }
  });

  itAsCaller("pushes a celebrity's post once to each connected fan, cached timeline or not, and to no one else", async () => {
    const star = await newUser();
    const fans = await newUsers(THRESHOLD + 3);
    await followAll(fans, star);
    await flush();
    await eventually(async () => expect(m.feed.celebrities.isCelebrity(star)).to.equal(true));
    // Half the fans connected (as a gateway marks them), one of those with a cached timeline.
    const connected = fans.slice(0, Math.ceil(fans.length / 2));
    await feedClient.markConnected({ userIds: connected });
    await feedClient.getFeed({ userId: connected[0]!, offset: 0, limit: 1 });
    const pushes = new Map<string, number>();
    const subscription = nats.subscribe("feed.live.>", {
      callback: (_error, message) => {
        const body = JSON.parse(message.string()) as { author_user_id: string };
        if (body.author_user_id === star) pushes.set(message.subject, (pushes.get(message.subject) ?? 0) + 1);
      },
    });
    await nats.flush();
    try {
      const news = await post(star, "всем, кто на связи");
      await flush();
      await eventually(async () => expect((await feedClient.getFanoutProgress({ postId: news.id })).done).to.equal(true));
      await nats.flush();
      expect(Object.fromEntries(pushes)).to.deep.equal(Object.fromEntries(connected.map((fan) => [`feed.live.${fan}`, 1])));
    } finally {
      subscription.unsubscribe();
    }
  });

  itAsCaller("delivers a celebrity post to every fan exactly once, in ceil(fans / chunk) chunks, with edits and deletions", async () => {
    const { star, fans } = await celebrityWithFans(THRESHOLD + 1);
    await eventually(async () => expect(m.feed.celebrities.isCelebrity(star)).to.equal(true));
    const news = await post(star, "первая версия");
    await flush();
    await eventually(async () => {
      const progress = await feedClient.getFanoutProgress({ postId: news.id });
      expect(progress).to.include({ chunked: true, chunksTotal: Math.ceil(fans.length / CHUNK), done: true });
      // A fan whose follow event was handled after the post already has it from the follow backfill.
      expect(progress.timelinesWritten).to.be.within(1, fans.length);
    });
    for (const fan of fans) {
      expect(await m.feed.cache.timelines.postIds(fan)).to.include(news.id);
      expect(await feedIds(fan)).to.deep.equal([news.id]);
    }
    await postsClient.updatePost({ actorUserId: star, postId: news.id, text: "исправлено" });
    await flush();
    await eventually(async () =>
      expect((await feedClient.getFeed({ userId: fans[0]!, offset: 0, limit: 10 })).posts.map((p) => p.text)).to.deep.equal(["исправлено"]),
    );
    await postsClient.deletePost({ actorUserId: star, postId: news.id });
    await flush();
    await eventually(async () => {
      for (const fan of fans) expect(await feedIds(fan)).to.deep.equal([]);
    });
  });

  itAsCaller("shows a celebrity post to a fan before the fan's chunk lands (merge), and once after", async () => {
    const prefix = `${testEnv.FEED_CONSUMER_PREFIX}-slow`;
    const slow = await startFeed(
      loadFeedConfig({
        ...testEnv,
        SOCIAL_GRAPH_ADDR: m.addresses.socialGraph,
        POSTS_ADDR: m.addresses.posts,
        ...separateRedisEnv(4),
        FEED_CONSUMER_PREFIX: prefix,
        FANOUT_CONCURRENCY: "1",
        FANOUT_CHUNK_PAUSE_MS: "1500",
      }),
    );
    const slowClient = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${slow.port}`);
    try {
      const { star, fans } = await celebrityWithFans(THRESHOLD + 2, slowClient);
      const older = await newUser();
      await Promise.all(fans.map((fan) => graph.addFriend({ userId: fan, friendId: older })));
      const earlier = await post(older, "раньше");
      await eventually(async () => expect(slow.celebrities.isCelebrity(star)).to.equal(true));
      await flush();
      await eventually(async () => expect(await feedIds(fans.at(-1)!, slowClient)).to.deep.equal([earlier.id]));
      const news = await post(star);
      await flush();
      const waiting = await eventually(async () => {
        const progress = await slowClient.getFanoutProgress({ postId: news.id });
        expect(progress.chunksTotal).to.be.greaterThan(1);
        const lagging: string[] = [];
        for (const fan of fans) if (!(await slow.cache.timelines.postIds(fan)).includes(news.id)) lagging.push(fan);
        expect(lagging).to.not.be.empty;
        return lagging;
      });
      for (const fan of waiting) expect(await feedIds(fan, slowClient)).to.deep.equal([news.id, earlier.id]);
      await eventually(async () => expect((await slowClient.getFanoutProgress({ postId: news.id })).done).to.equal(true), 30_000, 200);
      for (const fan of fans) {
        expect(await slow.cache.timelines.postIds(fan)).to.include(news.id);
        expect(await feedIds(fan, slowClient)).to.deep.equal([news.id, earlier.id]);
      }
    } finally {
      slowClient.close();
      await slow.stop();
    }
  });

  itAsCaller("keeps every fan's feed right while a user becomes a celebrity and stops being one", async () => {
    const star = await newUser();
    const fans = await newUsers(THRESHOLD);
    await Promise.all(fans.map((fan) => feedClient.getFeed({ userId: fan, offset: 0, limit: 1 })));
    await followAll(fans.slice(0, THRESHOLD - 1), star);
    const before = await post(star, "ещё не звезда");
    await followAll(fans.slice(THRESHOLD - 1), star);
    await flush();
    await eventually(async () => expect(m.feed.celebrities.isCelebrity(star)).to.equal(true));
    const during = await post(star, "звезда");
    await flush();
    await eventually(async () => expect((await feedClient.getFanoutProgress({ postId: during.id })).done).to.equal(true));
    await graph.removeFriend({ userId: fans[0]!, friendId: star });
    await flush();
    await eventually(async () => expect(m.feed.celebrities.isCelebrity(star)).to.equal(false));
    const after = await post(star, "снова обычный");
    await flush();
    await eventually(async () => {
      for (const fan of fans.slice(1)) expect(await feedIds(fan)).to.deep.equal([after.id, during.id, before.id]);
      expect(await feedIds(fans[0]!)).to.deep.equal([]);
    });
  });

  itAsCaller("finishes a fan-out exactly once when one of two worker processes is killed mid-way", async () => {
    const prefix = `${testEnv.FEED_CONSUMER_PREFIX}-kill`;
    const ownRedis = separateRedisEnv(5);
    const [portA, portB] = [await freePort(), await freePort()];
    const worker = (port: number): ChildProcess =>
      spawn(process.execPath, [FEED_MAIN], {
        env: {
          ...process.env,
          ...testEnv,
          GRPC_PORT: String(port),
          SOCIAL_GRAPH_ADDR: m.addresses.socialGraph,
          POSTS_ADDR: m.addresses.posts,
          ...ownRedis,
          FEED_CONSUMER_PREFIX: prefix,
          FANOUT_CONCURRENCY: "1",
          FANOUT_CHUNK_PAUSE_MS: "250",
          FANOUT_ACK_WAIT_MS: "2000",
          LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? "silent",
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
    const workers = [worker(portA), worker(portB)];
    const clientA = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${portA}`);
    const clientB = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${portB}`);
    const redis = testRedis(5);
    try {
      await eventually(() => clientB.getFeed({ userId: randomUUID(), offset: 0, limit: 1 }), 20_000, 200);
      await eventually(() => clientA.getFeed({ userId: randomUUID(), offset: 0, limit: 1 }), 20_000, 200);
      const { star, fans } = await celebrityWithFans(30, clientB);
      await new Promise((resolve) => setTimeout(resolve, 500)); // both workers see the celebrity event
      const news = await post(star);
      await flush();
      await eventually(
        async () => {
          const progress = await clientB.getFanoutProgress({ postId: news.id });
          expect(progress.chunksTotal, "planned").to.be.greaterThan(0);
          expect(progress.chunksDone).to.be.at.least(2);
          expect(progress.done).to.equal(false);
        },
        20_000,
        50,
      );
      workers[0]!.kill("SIGKILL");
      await eventually(async () => expect((await clientB.getFanoutProgress({ postId: news.id })).done).to.equal(true), 30_000, 200);
      const progress = await clientB.getFanoutProgress({ postId: news.id });
      expect(progress.chunksTotal).to.equal(Math.ceil(fans.length / CHUNK));
      for (const fan of fans) {
        const timeline = (await redis.zrangeBuffer(redisKeys.timeline(fan), "0", "-1")).filter(isPostMember);
        expect(timeline.filter((member) => member.equals(timelineMember(news.id)))).to.have.length(1);
        expect(await feedIds(fan, clientB)).to.deep.equal([news.id]);
      }
    } finally {
      clientA.close();
      clientB.close();
      redis.disconnect();
      for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.all(
        workers.map((child) =>
          child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", resolve)),
        ),
      );
    }
  });
});
