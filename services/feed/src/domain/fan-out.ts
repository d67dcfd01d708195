import type { events, posts } from "@fanfare/contracts";
import type { CelebrityDirectory } from "./celebrity-directory.js";
import { celebrityFanoutDuration, chunksLanded, chunksPublished, deliveryLatency, livePushes, timelineWrites } from "./feed-metrics.js";
import type { ChunkQueue, FanoutProgressLog, FeedCache, LiveNotifier, Truth } from "./ports.js";
import type { TimelineBuilder } from "./timeline-builder.js";

/** Followers per page read from social-graph (direct fan-out). */
const FOLLOWER_PAGE = 1_000;

/**
 * Followers written and notified per step of a delivery. The feed's event loop also serves reads: a
 * chunk's 5000 live messages published in one loop held it for milliseconds; between steps it yields.
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
    private readonly queueChunk: ChunkQueue,
    private readonly live: LiveNotifier,
    private readonly settings: FanOutSettings,
  ) {}

  /**
   * Fan-out on write. An ordinary author's post goes into every follower's cached timeline now; a
   * celebrity's is queued in chunks (the "Lady Gaga" path) and merged into fans' reads meanwhile.
   */
  async postCreated(event: events.PostCreated): Promise<void> {
    const post = toPost(event);
    const [alive] = await this.cache.posts.put([post]);
    if (!alive) return; // Deleted before its creation was handled: nobody is to see it.
    if (this.celebrities.isCelebrity(event.authorUserId)) return this.planChunks(post);
    const landed: string[] = [];
    await this.forEachFollowerPage(
      event.authorUserId,
      FOLLOWER_PAGE,
      async (followers) => void landed.push(...(await this.deliver(followers, post))),
    );
    await this.undoIfDeletedMeanwhile(post, landed);
    if (event.createdAt) deliveryLatency.observe((Date.now() - event.createdAt.getTime()) / 1000);
  }

  /**
   * One queued chunk: the followers in its keyset range get the post. A redelivery (its first
   * worker died or gave up) adds nothing twice: timelines are sets.
   */
  async deliverChunk(job: events.FanoutChunk, delivery: "first" | "redelivery"): Promise<void> {
    const [post] = await this.cache.posts.get([job.postId]);
    if (post === "deleted") return;
    const body = post ?? (await this.source.postsById([job.postId]))[0];
    if (!body) return;
    const followers = await this.followersInRange(job);
    const landed = await this.deliver(followers, body);
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
    await this.forEachFollowerPage(event.authorUserId, FOLLOWER_PAGE, (followers) =>
      this.builder.removeAndRefill(followers, [event.postId]),
    );
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
   * Splits a celebrity's followers into keyset ranges of FANOUT_CHUNK_SIZE and queues one job per
   * range. social-graph returns only each range's last id, so planning a million followers reads a
   * thousand ids, not a million. The post joins the celebrity's recent list first, so fans see it
   * through the read-time merge before their chunk lands.
   */
  private async planChunks(post: posts.Post): Promise<void> {
    await this.cache.celebrityPosts.add(post.authorUserId, post.id);
    await this.progress.started(post.id);
    let chunkIndex = 0;
    let after = "";
    for (let done = false; !done;) {
      const page = await this.source.followerChunkBounds(post.authorUserId, after, this.settings.chunkSize);
      const jobs = page.bounds.map((lastFollowerId, i) => ({
        postId: post.id,
        authorUserId: post.authorUserId,
        chunkIndex: chunkIndex + i,
        afterFollowerId: i === 0 ? after : page.bounds[i - 1]!,
        lastFollowerId,
      }));
      await Promise.all(jobs.map((job) => this.queueChunk(job)));
      chunksPublished.inc(jobs.length);
      chunkIndex += jobs.length;
      after = page.bounds.at(-1) ?? after;
      done = page.done || page.bounds.length === 0;
    }
    await this.progress.planned(post.id, chunkIndex);
  }

  /** The author's followers in (after, last], read again now: the job carries bounds, not ids. */
  private async followersInRange(job: events.FanoutChunk): Promise<string[]> {
    const inRange: string[] = [];
    let after = job.afterFollowerId;
    for (;;) {
      const page = await this.source.followerPage(job.authorUserId, after, this.settings.chunkSize);
      inRange.push(...page.ids.filter((id) => id <= job.lastFollowerId));
      const last = page.ids[page.ids.length - 1];
      if (page.next === "" || !last || last >= job.lastFollowerId) return inRange;
      after = last;
    }
  }

  /**
   * Writes the post into the followers' cached timelines and pushes it to those connected to a live
   * feed, cached timeline or not (a connection is activity; the follower list is the truth). Returns
   * the followers whose timeline got it.
   */
  private async deliver(followers: string[], post: posts.Post): Promise<string[]> {
    const landed: string[] = [];
    for (let i = 0; i < followers.length; i += DELIVERY_BATCH) {
      const batch = followers.slice(i, i + DELIVERY_BATCH);
      const adds = await this.cache.timelines.add(batch, post.authorUserId, [post.id]);
      const got = batch.filter((_, j) => adds[j]!.outcome === "added");
      const connected = batch.filter((_, j) => adds[j]!.push);
      this.live.postLanded(connected, post);
      livePushes.inc(connected.length);
      timelineWrites.inc(got.length);
      landed.push(...got);
    }
    return landed;
  }

  private async forEachFollowerPage(authorId: string, pageSize: number, write: (followers: string[]) => Promise<unknown>): Promise<void> {
    let after = "";
    do {
      const page = await this.source.followerPage(authorId, after, pageSize);
      await write(page.ids);
      after = page.next;
    } while (after !== "");
  }
}

function toPost(event: events.PostCreated): posts.Post {
  return { id: event.postId, authorUserId: event.authorUserId, text: event.text, createdAt: event.createdAt, updatedAt: event.createdAt };
}
