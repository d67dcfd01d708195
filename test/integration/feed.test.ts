import { randomUUID } from "node:crypto";
import { status as grpcStatus } from "@grpc/grpc-js";
import { expect } from "chai";
import { feed, events, posts, socialgraph } from "@fanfare/contracts";
import type { FeedRedis } from "@fanfare/feed/data-access/redis-client.js";
import { flushTestRedis, testRedis, separateRedisEnv } from "../support/redis.js";
import { loadFeedConfig, startFeed, type RunningFeed } from "@fanfare/feed";
import { metricsRegistry } from "@fanfare/runtime/observability";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { drainNats, type NatsConnection } from "@fanfare/runtime/events";
import { feedConsumers, forgetFeedConsumers } from "@fanfare/runtime/testing";
import { testEnv } from "../support/env.js";
import { natsConnection, itAsCaller } from "../support/grpc.js";
import { eventually } from "../support/http.js";
import { mesh, startMesh, type Mesh } from "../support/mesh.js";
import { MARKER_SCORE, postIdOfMember, timelineMember } from "@fanfare/feed/data-access/post-ids.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

type Clients = {
  graph: PromiseClient<socialgraph.SocialGraphServiceClient>;
  posts: PromiseClient<posts.PostsServiceClient>;
  feed: PromiseClient<feed.FeedServiceClient>;
};

function clientsFor(addresses: { socialGraph: string; posts: string; feed: string }): Clients {
  return {
    graph: createGrpcClient(socialgraph.SocialGraphServiceClient, addresses.socialGraph),
    posts: createGrpcClient(posts.PostsServiceClient, addresses.posts),
    feed: createGrpcClient(feed.FeedServiceClient, addresses.feed),
  };
}

async function counterValue(name: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values.reduce((sum, value) => sum + value.value, 0);
}

describe("feed service (Redis timelines fed by JetStream events)", function () {
  this.timeout(60_000);
  let m: Mesh;
  let c: Clients;
  let redis: FeedRedis;
  let nats: NatsConnection;

  before(async () => {
    m = await mesh();
    c = clientsFor(m.addresses);
    redis = testRedis();
    nats = await natsConnection();
  });
  after(async () => {
    Object.values(c).forEach((client) => client.close());
    redis.disconnect();
    await drainNats(nats);
  });

  const newUser = async () =>
    (
      await c.graph.registerUser({
        firstName: "Лента",
        secondName: randomUUID().slice(0, 8),
        birthdate: "",
        biography: "",
        city: "",
        password: "pw",
      })
    ).user!.id;
  const follow = (userId: string, friendId: string) => c.graph.addFriend({ userId, friendId });
  const post = async (author: string, text = `post ${randomUUID().slice(0, 6)}`) =>
    (await c.posts.createPost({ authorUserId: author, text })).post!;
  const read = async (userId: string, offset = 0, limit = 100, client = c.feed) => (await client.getFeed({ userId, offset, limit })).posts;
  const ids = (list: { id: string }[]) => list.map((p) => p.id);
  const flush = () => Promise.all([m.posts.flushOutbox(), m.socialGraph.flushOutbox()]);
  /** A feed deployment of its own on the shared services: Redis database `db`, consumers named `<prefix>-<name>`. */
  const ownDeployment = (db: number, name: string, extra: Record<string, string> = {}) => ({
    ...testEnv,
    SOCIAL_GRAPH_ADDR: m.addresses.socialGraph,
    POSTS_ADDR: m.addresses.posts,
    ...separateRedisEnv(db),
    FEED_CONSUMER_PREFIX: `${testEnv.FEED_CONSUMER_PREFIX}-${name}`,
    ...extra,
  });

  itAsCaller("fans a friend's new post out into the cached timeline, newest first, once", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    expect(await read(reader)).to.deep.equal([]); // builds (and caches) the empty timeline
    const made = [await post(author), await post(author), await post(author)];
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal(ids(made).reverse()));
    expect(await m.feed.cache.timelines.postIds(reader)).to.have.members(ids(made));
  });

  itAsCaller("answers a GetFeeds batch page by page: each user's own feed, and a bad page failing alone", async () => {
    const [a, b, authorA, authorB] = [await newUser(), await newUser(), await newUser(), await newUser()];
    await follow(a, authorA);
    await follow(b, authorB);
    const [postA, postB] = [await post(authorA), await post(authorB)];
    await flush();
    await eventually(async () => expect(ids(await read(a))).to.deep.equal([postA.id]));
    const page = (userId: string, offset = 0, limit = 10) => ({ userId, offset, limit, requestId: "", minLsn: "" });
    const { results } = await c.feed.getFeeds({ pages: [page(a), page(b), page("not-a-uuid"), page(a, 0, 0), page(b, 1)] });
    expect(results.map((r) => ids(r.posts))).to.deep.equal([[postA.id], [postB.id], [], [], []]);
    expect(results.map((r) => r.statusCode)).to.deep.equal([0, 0, grpcStatus.INVALID_ARGUMENT, grpcStatus.INVALID_ARGUMENT, 0]);
    expect(results[2]!.statusMessage).to.match(/user_id/);
    expect(results[3]!.statusMessage).to.match(/limit/);
  });

  itAsCaller("ignores a redelivered or duplicated created event", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    await read(reader);
    const first = await post(author, "only once");
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal([first.id]));
    const duplicate = events.PostCreated.encode({
      eventId: randomUUID(),
      postId: first.id,
      authorUserId: author,
      text: first.text,
      createdAt: first.createdAt,
    }).finish();
    await nats.jetstream().publish("posts.created", duplicate);
    await nats.jetstream().publish("posts.created", duplicate);
    const second = await post(author, "after the duplicates");
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal([second.id, first.id]));
  });

  itAsCaller("backfills on follow and cleans up on unfollow", async () => {
    const [reader, author, other] = [await newUser(), await newUser(), await newUser()];
    await follow(reader, other);
    const otherPost = await post(other);
    await read(reader);
    const authorPosts = [await post(author), await post(author)];
    await follow(reader, author);
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal([...ids(authorPosts).reverse(), otherPost.id]));
    await c.graph.removeFriend({ userId: reader, friendId: author });
    await flush();
    await eventually(async () => expect(await m.feed.cache.timelines.postIds(reader)).to.deep.equal([otherPost.id]));
    expect(ids(await read(reader))).to.deep.equal([otherPost.id]);
  });

  itAsCaller("ends in the right state when follows and unfollows race with posts", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await read(reader);
    const made: string[] = [];
    for (let round = 0; round < 4; round++) {
      const [, created] = await Promise.all([
        follow(reader, author),
        post(author),
        c.graph.removeFriend({ userId: reader, friendId: author }),
      ]);
      made.push(created.id);
    }
    await follow(reader, author); // the last word: following
    const last = await post(author);
    made.push(last.id);
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal([...made].reverse()));
    await c.graph.removeFriend({ userId: reader, friendId: author });
    await flush();
    await eventually(async () => expect(await m.feed.cache.timelines.postIds(reader)).to.deep.equal([]));
  });

  itAsCaller("shows edits on the next read and never shows a deleted post again", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    await read(reader);
    const [keep, drop] = [await post(author, "original"), await post(author, "to delete")];
    await flush();
    await eventually(async () => expect(await read(reader)).to.have.length(2));
    await c.posts.updatePost({ actorUserId: author, postId: keep.id, text: "edited" });
    await c.posts.deletePost({ actorUserId: author, postId: drop.id });
    await flush();
    await eventually(async () => {
      const feedNow = await read(reader);
      expect(feedNow.map((p) => p.text)).to.deep.equal(["edited"]);
      expect(await m.feed.cache.timelines.postIds(reader)).to.deep.equal([keep.id]);
    });
  });

  itAsCaller("serves the same feed after Redis is flushed (rebuilt from the databases)", async () => {
    const [reader, a, b] = [await newUser(), await newUser(), await newUser()];
    await follow(reader, a);
    await follow(reader, b);
    for (const author of [a, b, a, b]) await post(author);
    await flush();
    await eventually(async () => expect(await read(reader)).to.have.length(4));
    const before = await read(reader);
    await flushTestRedis(redis);
    expect(await read(reader)).to.deep.equal(before);
  });

  itAsCaller("rebuilds a cold timeline once for 50 concurrent readers on two replicas", async () => {
    const second = await startFeed(
      loadFeedConfig({ ...testEnv, SOCIAL_GRAPH_ADDR: m.addresses.socialGraph, POSTS_ADDR: m.addresses.posts }),
    );
    const secondClient = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${second.port}`);
    try {
      const [reader, author] = [await newUser(), await newUser()];
      await follow(reader, author);
      const made = await post(author);
      const rebuildsBefore = await counterValue("feed_timeline_rebuilds_total");
      const pages = await Promise.all(Array.from({ length: 50 }, (_, i) => read(reader, 0, 10, i % 2 ? secondClient : c.feed)));
      for (const page of pages) expect(ids(page)).to.deep.equal([made.id]);
      expect((await counterValue("feed_timeline_rebuilds_total")) - rebuildsBefore).to.equal(1);
    } finally {
      secondClient.close();
      await second.stop();
    }
  });

  itAsCaller("a reads-only replica (FEED_ROLE=reads) serves feeds and leaves events to the replicas that handle them", async () => {
    // A deployment of its own (Redis database 6, its own consumers), so the shared feed fans nothing out into it.
    const env = ownDeployment(6, "roles");
    // Left by an earlier run on a reused machine, they would look like this run's.
    await forgetFeedConsumers(nats, env.FEED_CONSUMER_PREFIX);
    const reads = await startFeed(loadFeedConfig({ ...env, FEED_ROLE: "reads" }));
    const readsClient = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${reads.port}`);
    let worker: RunningFeed | undefined;
    try {
      const [reader, author] = [await newUser(), await newUser()];
      await follow(reader, author);
      expect(await read(reader, 0, 10, readsClient)).to.deep.equal([]); // built and cached by the reads replica
      await post(author); // handled by nobody: no replica of this deployment consumes events yet
      await flush();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await reads.cache.timelines.postIds(reader), "nobody handles events yet").to.deep.equal([]);
      expect(await feedConsumers(nats, env.FEED_CONSUMER_PREFIX), "a reads replica makes no consumer").to.deep.equal([]);
      worker = await startFeed(loadFeedConfig(env));
      const fanned = await post(author);
      await flush();
      await eventually(async () => expect(await reads.cache.timelines.postIds(reader)).to.deep.equal([fanned.id]));
      expect(ids(await read(reader, 0, 10, readsClient)), "served by the reads replica").to.deep.equal([fanned.id]);
    } finally {
      readsClient.close();
      await Promise.all([reads.stop(), worker?.stop()]);
    }
  });

  itAsCaller("FEED_ROLE=reads,events takes post and graph events only; FEED_ROLE=chunks celebrity plans and chunks only", async () => {
    const env = ownDeployment(6, "duties");
    await forgetFeedConsumers(nats, env.FEED_CONSUMER_PREFIX);
    const names = async () =>
      (await feedConsumers(nats, env.FEED_CONSUMER_PREFIX)).map((consumer) => consumer.name.slice(env.FEED_CONSUMER_PREFIX.length)).sort();
    const eventsReplica = await startFeed(loadFeedConfig({ ...env, FEED_ROLE: "reads,events" }));
    let chunksReplica: RunningFeed | undefined;
    try {
      expect(await names()).to.deep.equal(["-graph", "-posts"]);
      chunksReplica = await startFeed(loadFeedConfig({ ...env, FEED_ROLE: "chunks" }));
      expect(await names()).to.deep.equal(["-fanout", "-fanout-plan", "-graph", "-posts"]);
    } finally {
      await Promise.all([eventsReplica.stop(), chunksReplica?.stop()]);
      await forgetFeedConsumers(nats, env.FEED_CONSUMER_PREFIX);
    }
    expect(() => loadFeedConfig({ ...env, FEED_ROLE: "reads,fanout" })).to.throw(/unknown duties fanout/);
  });

  itAsCaller("leaves timelines of users who have not read alone (they are rebuilt when they come back)", async () => {
    const [dormant, author] = [await newUser(), await newUser()];
    await follow(dormant, author);
    const made = await post(author);
    const [canary, canaryAuthor] = [await newUser(), await newUser()];
    await follow(canary, canaryAuthor);
    await read(canary);
    const canaryPost = await post(canaryAuthor);
    await flush();
    await eventually(async () => expect(ids(await read(canary))).to.deep.equal([canaryPost.id]));
    expect(await m.feed.cache.timelines.exists(dormant)).to.equal(false);
    expect(ids(await read(dormant))).to.deep.equal([made.id]);
    expect(await redis.ttl(redisKeys.timeline(dormant))).to.be.greaterThan(0);
  });

  itAsCaller("repairs a drifted timeline in a reconciler round", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    const made = [await post(author), await post(author)];
    await read(reader);
    await redis.zrem(redisKeys.timeline(reader), timelineMember(made[0]!.id));
    expect(await m.feed.cache.timelines.postIds(reader)).to.deep.equal([made[1]!.id]);
    const fixesBefore = await counterValue("feed_resync_fixes_total");
    let rounds = 0;
    while ((await m.feed.cache.timelines.postIds(reader)).length < 2 && rounds++ < 50) await m.feed.reconciler.runPass();
    expect(await m.feed.cache.timelines.postIds(reader)).to.have.members(ids(made));
    expect(await counterValue("feed_resync_fixes_total")).to.be.greaterThan(fixesBefore);
  });

  itAsCaller("heals a removed timeline entry and a removed friend on its own, one pass after the drift", async () => {
    // A feed deployment of its own (Redis database 4), with passes every 300 ms: the timer path, not runPass by hand.
    const env = ownDeployment(4, "sync", { FEED_SYNC_INTERVAL_MS: "300" });
    const instance = await startFeed(loadFeedConfig(env));
    const client = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${instance.port}`);
    const own = testRedis(4);
    try {
      const [reader, author, other] = [await newUser(), await newUser(), await newUser()];
      await follow(reader, author);
      await follow(reader, other);
      const made = [await post(author), await post(other)];
      await eventually(async () => expect(ids(await read(reader, 0, 10, client))).to.have.members(ids(made)));
      await own.zrem(redisKeys.timeline(reader), timelineMember(made[0]!.id));
      await own.srem(redisKeys.friends(reader), other);
      const injected = Date.now();
      await eventually(
        async () => {
          expect(await instance.cache.timelines.postIds(reader)).to.have.members(ids(made));
          expect(await instance.cache.timelines.friendIds(reader)).to.have.members([author, other]);
        },
        10_000,
        20,
      );
      console.log(`      healed ${Date.now() - injected} ms after the drift (FEED_SYNC_INTERVAL_MS 300)`);
    } finally {
      own.disconnect();
      client.close();
      await instance.stop();
    }
  });

  itAsCaller("terminates and dead-letters a poison event and keeps going", async () => {
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    await read(reader);
    const js = nats.jetstream();
    await js.publish("posts.created", new Uint8Array([0xff, 0xff, 0xff]));
    const after = await post(author);
    await flush();
    await eventually(async () => expect(ids(await read(reader))).to.deep.equal([after.id]));
    const jsm = await nats.jetstreamManager();
    await eventually(async () => {
      const dead = await jsm.streams.getMessage("DEADLETTER", { last_by_subj: `deadletter.POSTS.${testEnv.FEED_CONSUMER_PREFIX}-posts` });
      expect(dead.header.get("Fanfare-Original-Subject")).to.equal("posts.created");
    });
  });

  itAsCaller("falls back to the posts service for offsets past the cached window", async () => {
    const small = await startFeed(loadFeedConfig(ownDeployment(2, "small", { FEED_MAX_ITEMS: "3" })));
    const smallClient = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${small.port}`);
    try {
      const [reader, author] = [await newUser(), await newUser()];
      await follow(reader, author);
      const made = [];
      for (let i = 0; i < 6; i++) made.push(await post(author));
      const newestFirst = ids(made).reverse();
      expect(ids(await read(reader, 0, 2, smallClient))).to.deep.equal(newestFirst.slice(0, 2));
      expect(ids(await read(reader, 2, 3, smallClient))).to.deep.equal(newestFirst.slice(2, 5));
      expect(ids(await read(reader, 5, 10, smallClient))).to.deep.equal(newestFirst.slice(5));
      expect(await small.cache.timelines.postIds(reader)).to.have.length(3);
    } finally {
      smallClient.close();
      await small.stop();
    }
  });

  itAsCaller("loses and duplicates nothing when the feed restarts mid-stream", async () => {
    const env = ownDeployment(3, "restart");
    let instance: RunningFeed = await startFeed(loadFeedConfig(env));
    const [reader, author] = [await newUser(), await newUser()];
    await follow(reader, author);
    await instance.cache.timelines.readPage(reader, 0, 1);
    let client = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${instance.port}`);
    await read(reader, 0, 10, client);
    const made = [await post(author)];
    await flush();
    await eventually(async () => expect(await instance.cache.timelines.postIds(reader)).to.have.length(1));
    client.close();
    await instance.stop();
    for (let i = 0; i < 4; i++) made.push(await post(author));
    await flush();
    instance = await startFeed(loadFeedConfig(env));
    client = createGrpcClient(feed.FeedServiceClient, `127.0.0.1:${instance.port}`);
    try {
      await eventually(async () => expect(await instance.cache.timelines.postIds(reader)).to.have.members(ids(made)), 10_000);
      expect(ids(await read(reader, 0, 10, client))).to.deep.equal(ids(made).reverse());
    } finally {
      client.close();
      await instance.stop();
    }
  });

  itAsCaller("keeps serving warm feeds with social-graph and posts stopped", async () => {
    const own = await startMesh();
    const ownClients = clientsFor(own.addresses);
    try {
      const [reader, author] = [await newUser(), await newUser()];
      await follow(reader, author);
      const made = [await post(author), await post(author)];
      const warm = await read(reader, 0, 10, ownClients.feed);
      expect(ids(warm)).to.deep.equal(ids(made).reverse());
      await own.socialGraph.stop();
      await own.posts.stop();
      expect(await read(reader, 0, 10, ownClients.feed)).to.deep.equal(warm);
    } finally {
      Object.values(ownClients).forEach((client) => client.close());
      await own.gateway.stop();
      await own.feed.stop();
    }
  });

  itAsCaller("stores a 1000-entry timeline in at most 24 bytes an entry", async () => {
    const user = randomUUID();
    const base = Date.now();
    const postIds = Array.from({ length: 1000 }, (_, i) => {
      const bytes = Buffer.alloc(16);
      bytes.writeUIntBE(base + i, 0, 6);
      bytes.set(Buffer.from(randomUUID().replace(/-/g, ""), "hex").subarray(6), 6);
      const hex = bytes.toString("hex");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    });
    const token = randomUUID();
    expect(await m.feed.cache.rebuilds.claim(user, token, 10_000, "missing")).to.equal("claimed");
    expect(await m.feed.cache.rebuilds.commit(user, token, postIds.slice().reverse(), [])).to.equal("ok");
    const key = redisKeys.timeline(user);
    expect(await redis.call("OBJECT", "ENCODING", key)).to.equal("listpack");
    const bytes = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
    expect(bytes / 1000).to.be.at.most(24);
    expect(await m.feed.cache.timelines.postIds(user), "every id, in creation order").to.deep.equal(postIds);
    const scores = (await redis.zrange(key, "0", "-1", "WITHSCORES")).filter((_, i) => i % 2 === 1);
    expect(scores, "the ids (score 0: they order by their bytes), then the history marker").to.deep.equal([
      ...Array.from({ length: 1000 }, () => "0"),
      String(MARKER_SCORE),
    ]);
    const [newest] = await redis.zrangeBuffer(key, "0", "0");
    expect(postIdOfMember(newest!), "the newest post comes first").to.equal(postIds.at(-1));
    await redis.del(key);
  });
});
