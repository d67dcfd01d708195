import type { events, posts } from "@fanfare/contracts";
import { unpackUuids, uuidFromBytes, UUID_BYTES } from "@fanfare/runtime";
import type { CelebrityDirectory } from "./celebrity-directory.js";
import { celebrityFanoutDuration, chunksLanded, chunksPublished, deliveryLatency, livePushes, timelineWrites } from "./feed-metrics.js";
import type { FanoutProgressLog, FanoutQueue, FeedCache, LiveNotifier, Truth } from "./ports.js";
import type { TimelineBuilder } from "./timeline-builder.js";

/** Followers per page read from social-graph (direct fan-out). */
const FOLLOWER_PAGE = 1_000;

/**
 * Followers written and notified per step of a delivery, one step at a time: a step is a script of
 * about a millisecond that Redis runs while every other client waits, and the work of about a
 * millisecond on this event loop, which also serves reads. Steps in flight set how long a read
 * queues behind fan-out in Redis: with all twenty of a 5000-fan chunk issued at once, reads during
 * a 1M-fan delivery fell to 260 req/s from 1,765 idle; three at a time, a probe's three commands
 * took 3 ms instead of 0.2; one at a time (per chunk; FANOUT_CONCURRENCY chunks run), 0.7 ms.
 */
const DELIVERY_BATCH = 250;

export interface FanOutSettings {
  maxItems: number;
  chunkSize: number;
  chunkPauseMs: number;
}

/**
 * Keeps cached timelines right as events arrive. Every handler is idempotent (timelines are sets,
 * caches are overwrites) and reads the current truth where order matters, so redelivered,
 * duplicated or reordered events leave the same state.
 */
export class FanOut {
  constructor(
    private readonly cache: FeedCache,
    private readonly source: Truth,
    private readonly builder: TimelineBuilder,
    private readonly celebrities: CelebrityDirectory,
    private readonly progress: FanoutProgressLog,
    private readonly queue: FanoutQueue,
    private readonly live: LiveNotifier,
    private readonly settings: FanOutSettings,
  ) {}

  /**
   * Fan-out on write. An ordinary author's post goes into every follower's cached timeline now; a
   * celebrity's is queued to be planned into chunks (the "Lady Gaga" path) and merged into fans'
   * reads meanwhile.
   */
  async postCreated(event: events.PostCreated): Promise<void> {
    const post = toPost(event);
    const celebrity = this.celebrities.isCelebrity(event.authorUserId);
    // The first followers are asked for while the body is cached: the post's pushes wait for one round trip, not two.
    const firstPage = celebrity ? undefined : this.followerPage(event.authorUserId, "");
    firstPage?.catch(() => undefined); // awaited below; not an unhandled rejection if the put fails first
    const [alive] = await this.cache.posts.put([post]);
    if (!alive) return; // Deleted before its creation was handled: nobody is to see it.
    if (!firstPage) return this.queuePlan(post);
    const landed: string[] = [];
    await this.forEachFollowerPage(
      event.authorUserId,
      async (followers) => void landed.push(...(await this.deliver(followers, post))),
      firstPage,
    );
    await this.undoIfDeletedMeanwhile(post, landed);
    if (event.createdAt) deliveryLatency.observe((Date.now() - event.createdAt.getTime()) / 1000);
  }

  /**
   * One queued chunk: the followers it names get the post. A redelivery (its first worker died or
   * gave up) adds nothing twice: timelines are sets. A follow made after planning is covered by the
   * follow's own refresh, which reads the post from the databases; an unfollow, by the friend-set
   * check of every add.
   */
  async deliverChunk(job: events.FanoutChunk, delivery: "first" | "redelivery"): Promise<void> {
    const [post] = await this.cache.posts.get([job.postId]);
    if (post === "deleted") return;
    const body = post ?? (await this.source.postsById([job.postId]))[0];
    if (!body) return;
    const landed = await this.deliver(unpackUuids(job.followerIds) ?? [], body);
    await this.undoIfDeletedMeanwhile(body, landed);
    const outcome = await this.progress.chunkDone(job.postId, job.chunkIndex, landed.length);
    chunksLanded.inc({ delivery });
    if (outcome.finished) {
      const { durationMs } = await this.progress.progress(job.postId);
      celebrityFanoutDuration.observe(durationMs / 1000);
    }
    if (this.settings.chunkPauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.settings.chunkPauseMs));
  }

  /** Timelines hold ids only, so an edit is one cache write; readers see it on their next read. */
  async postUpdated(event: events.PostUpdated): Promise<void> {
    const [current] = await this.source.postsById([event.postId]);
    if (current) await this.cache.posts.put([current]);
  }

  /**
   * A tombstone keeps the post from coming back through a late event and hides it from every read.
   * An ordinary author's followers also lose it from their timelines now; for a celebrity's millions
   * of fans, reads drop the tombstoned id from each timeline as they meet it.
   */
  async postDeleted(event: events.PostDeleted): Promise<void> {
    await this.cache.posts.tombstone(event.postId);
    await this.cache.celebrityPosts.remove(event.authorUserId, event.postId);
    if (this.celebrities.isCelebrity(event.authorUserId)) return;
    await this.forEachFollowerPage(event.authorUserId, (followers) => this.builder.removeAndRefill(followers, [event.postId]));
  }

  /**
   * Follow or unfollow: the user's cached timeline is rebuilt from what the databases say now, so
   * the new friend's history arrives, the old one's leaves, the window stays FEED_MAX_ITEMS deep, and
   * repeated or reordered events converge on the same state.
   */
  async friendshipChanged(userId: string): Promise<void> {
    await this.builder.refresh(userId);
  }

  /**
   * The post was alive when its delivery started; if its deletion was handled in the meantime, that
   * removal may have run before these writes. Checking the tombstone after writing closes the gap:
   * the deletion tombstones before it removes, so one of the two always sees the other.
   */
  private async undoIfDeletedMeanwhile(post: posts.Post, landed: string[]): Promise<void> {
    const [cached] = await this.cache.posts.get([post.id]);
    if (cached === "deleted") await this.builder.removeAndRefill(landed, [post.id]);
  }

  /**
   * The post joins the celebrity's recent list first, so fans see it through the read-time merge at
   * once; reading its followers is left to the replicas that write chunks (planChunks).
   */
  private async queuePlan(post: posts.Post): Promise<void> {
    await this.cache.celebrityPosts.add(post.authorUserId, post.id);
    await this.progress.started(post.id);
    await this.queue.plan({ postId: post.id, authorUserId: post.authorUserId });
  }

  /**
   * Splits a celebrity's followers into chunks of FANOUT_CHUNK_SIZE and queues one job per chunk,
   * carrying its followers' ids: the list is read once here (a few calls of 100K packed ids), and
   * workers only write. A plan handled twice queues the same chunks (their msgIDs repeat).
   */
  async planChunks(job: events.FanoutPlan): Promise<void> {
    let chunkIndex = 0;
    let after = "";
    for (let done = false; !done;) {
      const page = await this.source.followerChunks(job.authorUserId, after, this.settings.chunkSize);
      const first = chunkIndex;
      await Promise.all(
        page.chunks.map((followerIds, i) =>
          this.queue.chunk({ postId: job.postId, authorUserId: job.authorUserId, chunkIndex: first + i, followerIds }),
        ),
      );
      chunksPublished.inc(page.chunks.length);
      chunkIndex += page.chunks.length;
      const last = page.chunks.at(-1);
      if (last) after = uuidFromBytes(last, last.length - UUID_BYTES);
      done = page.done || !last;
    }
    await this.progress.planned(job.postId, chunkIndex);
  }

  /**
   * Writes the post into the followers' cached timelines and pushes it to those connected to a live
   * feed, cached timeline or not (a connection is activity; the follower list is the truth). Returns
   * the followers whose timeline got it.
   */
  private async deliver(followers: string[], post: posts.Post): Promise<string[]> {
    const landed: string[] = [];
    for (let at = 0; at < followers.length; at += DELIVERY_BATCH)
      landed.push(...(await this.deliverStep(followers.slice(at, at + DELIVERY_BATCH), post)));
    return landed;
  }

  private async deliverStep(followers: string[], post: posts.Post): Promise<string[]> {
    const adds = await this.cache.timelines.add(followers, post.authorUserId, [post.id]);
    const landed = followers.filter((_, j) => adds[j]!.outcome === "added");
    const connected = followers.filter((_, j) => adds[j]!.push);
    this.live.postLanded(connected, post);
    livePushes.inc(connected.length);
    timelineWrites.inc(landed.length);
    return landed;
  }

  /** Every page of the author's followers, in order; `first`, when given, is the first page already asked for. */
  private async forEachFollowerPage(
    authorId: string,
    write: (followers: string[]) => Promise<unknown>,
    first = this.followerPage(authorId, ""),
  ): Promise<void> {
    let page = await first;
    for (;;) {
      await write(page.ids);
      if (page.next === "") return;
      page = await this.followerPage(authorId, page.next);
    }
  }

  private followerPage(authorId: string, after: string): Promise<{ ids: string[]; next: string }> {
    return this.source.followerPage(authorId, after, FOLLOWER_PAGE);
  }
}

function toPost(event: events.PostCreated): posts.Post {
  return { id: event.postId, authorUserId: event.authorUserId, text: event.text, createdAt: event.createdAt, updatedAt: event.createdAt };
}
