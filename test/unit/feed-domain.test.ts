import { expect } from "chai";
import { posts } from "@fanfare/contracts";
import { unpackUuids } from "@fanfare/runtime";
import { createLogger } from "@fanfare/runtime/observability";
import { CelebrityDirectory } from "@fanfare/feed/domain/celebrity-directory.js";
import { FanOut } from "@fanfare/feed/domain/fan-out.js";
import { FeedReader } from "@fanfare/feed/domain/feed-reader.js";
import { Reconciler } from "@fanfare/feed/domain/reconciler.js";
import { TimelineAuditor } from "@fanfare/feed/domain/timeline-audit.js";
import { TimelineBuilder } from "@fanfare/feed/domain/timeline-builder.js";
import { FakeFanoutQueue, FakeLiveNotifier, FakeProgressLog, FakeFeedCache, FakeTruth, fakeId } from "../support/fakes/feed.js";

/** A small window, so paging past it and trimming show with a handful of posts. */
const MAX_ITEMS = 5;
const CHUNK_SIZE = 3;

/** The feed's use cases wired to in-memory fakes of its ports: the rules, without Redis, gRPC or NATS. */
function feedDomain() {
  const cache = new FakeFeedCache(MAX_ITEMS);
  const truth = new FakeTruth();
  const progress = new FakeProgressLog();
  const chunks = new FakeFanoutQueue();
  const live = new FakeLiveNotifier();
  const logger = createLogger("unit", "silent");
  const celebrities = new CelebrityDirectory(truth, logger);
  const builder = new TimelineBuilder(cache, truth, MAX_ITEMS);
  const fanOut = new FanOut(cache, truth, builder, celebrities, progress, chunks, live, {
    maxItems: MAX_ITEMS,
    chunkSize: CHUNK_SIZE,
    chunkPauseMs: 0,
  });
  const reader = new FeedReader(cache, builder, truth, celebrities);
  const reconciler = new Reconciler(cache, new TimelineAuditor(cache, truth, MAX_ITEMS), builder, logger);
  let next = 1;
  const ids = () => fakeId(next++);
  const post = (author: string, text = "hello"): posts.Post =>
    truth.addPost({ id: ids(), authorUserId: author, text, createdAt: new Date(), updatedAt: new Date() });
  /** Publishes through the event handler, as the posts.created consumer does. */
  const publish = async (author: string) => {
    const created = post(author);
    await fanOut.postCreated({
      eventId: ids(),
      postId: created.id,
      authorUserId: author,
      text: created.text,
      createdAt: created.createdAt,
    });
    return created;
  };
  /** A page's posts as a caller decodes them: cached bodies come back still encoded. */
  const feedPosts = async (user: string, offset = 0, limit = 100) =>
    (await reader.read(user, offset, limit)).map((p) => (p instanceof Uint8Array ? posts.Post.decode(p) : p));
  const feedIds = async (user: string, offset = 0, limit = 100) => (await feedPosts(user, offset, limit)).map((p) => p.id);
  return { cache, truth, progress, chunks, live, celebrities, builder, fanOut, reader, reconciler, ids, post, publish, feedPosts, feedIds };
}

describe("feed domain rules (in-memory ports)", () => {
  it("builds a missing timeline once for concurrent readers, then serves warm reads from the cache alone", async () => {
    const d = feedDomain();
    const [reader, author] = [d.ids(), d.ids()];
    d.truth.follow(reader, author);
    const older = d.post(author);
    const newer = d.post(author);

    const pages = await Promise.all([d.feedIds(reader), d.feedIds(reader), d.feedIds(reader)]);
    expect(pages).to.deep.equal([
      [newer.id, older.id],
      [newer.id, older.id],
      [newer.id, older.id],
    ]);
    expect(d.truth.calls.filter((call) => call === "friendsOf")).to.have.length(1);

    d.truth.calls.length = 0;
    expect(await d.feedIds(reader)).to.deep.equal([newer.id, older.id]);
    expect(d.truth.calls, "a warm read asks the source nothing").to.deep.equal([]);
  });

  it("fans an ordinary post out to cached followers only, and pushes it to connected ones once", async () => {
    const d = feedDomain();
    const [author, cachedFan, coldFan, liveColdFan, stranger] = [d.ids(), d.ids(), d.ids(), d.ids(), d.ids()];
    for (const fan of [cachedFan, coldFan, liveColdFan]) d.truth.follow(fan, author);
    await d.feedIds(cachedFan);
    await d.cache.liveMarks.markConnected([liveColdFan], 60_000);

    const created = await d.publish(author);
    await d.fanOut.postCreated({
      eventId: d.ids(),
      postId: created.id,
      authorUserId: author,
      text: created.text,
      createdAt: created.createdAt,
    });

    expect(d.cache.sortedIds(cachedFan)).to.deep.equal([created.id]);
    expect(d.cache.timelineState.has(coldFan), "no timeline is built by a fan-out").to.equal(false);
    expect(d.live.pushes, "a redelivered event pushes nothing twice").to.deep.equal([{ userId: liveColdFan, postId: created.id }]);
    expect(await d.feedIds(stranger)).to.deep.equal([]);
  });

  it("leaves deleted posts out of a page and out of the timeline, and an unfollowed author's once the unfollow is handled", async () => {
    const d = feedDomain();
    const [reader, kept, dropped] = [d.ids(), d.ids(), d.ids()];
    d.truth.follow(reader, kept);
    d.truth.follow(reader, dropped);
    const keptPost = d.post(kept);
    const deletedPost = d.post(kept);
    const unfollowedPost = d.post(dropped);
    expect(await d.feedIds(reader)).to.deep.equal([unfollowedPost.id, deletedPost.id, keptPost.id]);

    // The deletion's tombstone lands before its event removes anything: the read drops the post itself.
    await d.cache.posts.tombstone(deletedPost.id);
    expect(await d.feedIds(reader)).to.deep.equal([unfollowedPost.id, keptPost.id]);
    expect(d.cache.sortedIds(reader)).to.deep.equal([unfollowedPost.id, keptPost.id]);

    // The unfollow's event rewrites the timeline and its friend set together.
    d.truth.unfollow(reader, dropped);
    await d.fanOut.friendshipChanged(reader);
    expect(await d.feedIds(reader)).to.deep.equal([keptPost.id]);
    expect([...d.cache.friends.get(reader)!]).to.deep.equal([kept]);
  });

  it("answers cached posts with their cached bodies, and posts the cache lacks from the source, alike", async () => {
    const d = feedDomain();
    const [reader, author] = [d.ids(), d.ids()];
    d.truth.follow(reader, author);
    const first = d.post(author, "first");
    const second = d.post(author, "second");
    await d.feedIds(reader); // builds the timeline and caches both bodies
    d.cache.bodies.delete(first.id); // evicted: read from the source and cached again
    const page = await d.reader.read(reader, 0, 10);
    expect(page[0], "a cached body passes through encoded").to.be.instanceOf(Uint8Array);
    expect(page[1], "a miss comes from the source").to.not.be.instanceOf(Uint8Array);
    expect(await d.feedPosts(reader)).to.deep.equal([second, first]);
  });

  it("merges a celebrity's post into fans' pages before their chunk lands, and shows it once after", async () => {
    const d = feedDomain();
    const [star, friend] = [d.ids(), d.ids()];
    const fans = Array.from({ length: 7 }, () => d.ids());
    for (const fan of fans) d.truth.follow(fan, star);
    d.truth.follow(fans[0]!, friend);
    const friendPost = d.post(friend);
    for (const fan of fans) await d.feedIds(fan);
    d.celebrities.apply(star, true);

    const news = await d.publish(star);
    expect(d.cache.sortedIds(fans[0]!), "not in the timeline yet").to.deep.equal([friendPost.id]);
    expect(await d.feedIds(fans[0]!)).to.deep.equal([news.id, friendPost.id]);

    for (const plan of d.chunks.plans) await d.fanOut.planChunks(plan);
    for (const job of d.chunks.jobs) await d.fanOut.deliverChunk(job, "first");
    expect(d.cache.sortedIds(fans[0]!)).to.deep.equal([news.id, friendPost.id]);
    expect(await d.feedIds(fans[0]!), "merged and fanned out: once").to.deep.equal([news.id, friendPost.id]);
  });

  it("plans a celebrity post as ceil(followers / chunk) contiguous chunks that reach every follower once", async () => {
    const d = feedDomain();
    const star = d.ids();
    const fans = Array.from({ length: 8 }, () => d.ids());
    for (const fan of fans) d.truth.follow(fan, star);
    for (const fan of fans) await d.feedIds(fan);
    d.celebrities.apply(star, true);

    const news = await d.publish(star);
    expect(d.chunks.plans, "the post is queued to be planned, its followers left unread").to.deep.equal([
      { postId: news.id, authorUserId: star },
    ]);
    expect(d.chunks.jobs).to.deep.equal([]);
    await d.fanOut.planChunks(d.chunks.plans[0]!);

    expect(d.chunks.jobs).to.have.length(Math.ceil(fans.length / CHUNK_SIZE));
    expect(d.chunks.jobs.map((job) => job.chunkIndex)).to.deep.equal([0, 1, 2]);
    expect(
      d.chunks.jobs.flatMap((job) => unpackUuids(job.followerIds)),
      "every follower once, in id order",
    ).to.deep.equal([...fans].sort());

    const callsBefore = d.truth.calls.length;
    for (const job of [...d.chunks.jobs, d.chunks.jobs[1]!]) await d.fanOut.deliverChunk(job, "first");
    expect(d.truth.calls.slice(callsBefore), "workers only write: no follower list is read again").to.deep.equal([]);
    for (const fan of fans) expect(d.cache.sortedIds(fan), fan).to.deep.equal([news.id]);
    expect(await d.progress.progress(news.id)).to.include({ chunksTotal: 3, chunksDone: 3, timelinesWritten: fans.length, done: true });
  });

  it("continues a page past a cut window in the source, below the window's oldest post, with no gap or duplicate", async () => {
    const d = feedDomain();
    const [reader, author] = [d.ids(), d.ids()];
    d.truth.follow(reader, author);
    const all = Array.from({ length: 12 }, () => d.post(author)).reverse(); // newest first
    const expected = all.map((p) => p.id);

    expect(await d.feedIds(reader, 0, 3)).to.deep.equal(expected.slice(0, 3));
    expect(d.cache.sortedIds(reader), "the window holds the newest MAX_ITEMS").to.deep.equal(expected.slice(0, MAX_ITEMS));
    expect(await d.feedIds(reader, 3, 4), "across the seam").to.deep.equal(expected.slice(3, 7));
    expect(await d.feedIds(reader, 8, 10), "wholly past the window; short at the history's end").to.deep.equal(expected.slice(8));

    // An unfollow's cleanup may shrink the window; the seam still follows the window's oldest post.
    await d.cache.timelines.remove([reader], [expected[1]!]);
    d.truth.posts.delete(expected[1]!);
    expect(await d.feedIds(reader, 0, 12)).to.deep.equal(expected.filter((_, i) => i !== 1));
  });

  it("answers a short page from an END timeline without asking the source", async () => {
    const d = feedDomain();
    const [reader, author] = [d.ids(), d.ids()];
    d.truth.follow(reader, author);
    const only = d.post(author);
    await d.feedIds(reader);
    d.truth.calls.length = 0;
    expect(await d.feedIds(reader, 0, 50)).to.deep.equal([only.id]);
    expect(await d.feedIds(reader, 1, 50)).to.deep.equal([]);
    expect(d.truth.calls).to.deep.equal([]);
  });

  it("refuses pages outside the bounds feed.proto states", async () => {
    const d = feedDomain();
    for (const [offset, limit] of [
      [-1, 10],
      [0, 0],
      [0, 5001],
      [0.5, 10],
      [100_001, 10],
    ] as const) {
      const error = await d.reader.read(d.ids(), offset, limit).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message, `offset ${offset}, limit ${limit}`).to.match(/must be an integer/);
    }
  });

  it("the reconciler refreshes drifted timelines and leaves right ones alone", async () => {
    const d = feedDomain();
    const [right, drifted, author] = [d.ids(), d.ids(), d.ids()];
    d.truth.follow(right, author);
    d.truth.follow(drifted, author);
    d.post(author);
    await d.feedIds(right);
    await d.feedIds(drifted);
    expect(await d.reconciler.runPass(), "nothing drifted").to.equal(0);

    const lost = d.post(author); // its event never arrives: a lost fan-out
    d.cache.timelineState.get(right)!.ids.add(lost.id); // this one got it
    expect(await d.reconciler.runPass()).to.equal(1);
    expect(d.cache.sortedIds(drifted)[0]).to.equal(lost.id);
    expect(await d.reconciler.runPass(), "healed").to.equal(0);
  });

  it("a rebuild whose snapshot a concurrent removal made stale reads again instead of committing it", async () => {
    const d = feedDomain();
    const [reader, author] = [d.ids(), d.ids()];
    d.truth.follow(reader, author);
    const gone = d.post(author);
    const stays = d.post(author);
    // The post is deleted, and its removal reaches the timeline, just after the rebuild read its ids.
    const recentPostIds = d.truth.recentPostIds.bind(d.truth);
    let snapshots = 0;
    d.truth.recentPostIds = async (...args) => {
      const ids = await recentPostIds(...args);
      if (++snapshots === 1) {
        d.truth.posts.delete(gone.id);
        await d.cache.timelines.remove([reader], [gone.id]);
      }
      return ids;
    };
    expect(await d.builder.ensureBuilt(reader)).to.equal(true);
    expect(snapshots, "the stale snapshot was not committed; a second one was").to.equal(2);
    expect(d.cache.sortedIds(reader)).to.deep.equal([stays.id]);
  });
});
