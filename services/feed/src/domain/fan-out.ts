import type { events, posts } from "@fanfare/contracts";
import type { FanoutProgressStore } from "../data-access/fanout-progress.js";
import type { TimelineStore } from "../data-access/timeline-store.js";
import type { CelebrityDirectory } from "./celebrity-directory.js";
import { celebrityFanoutDuration, chunksLanded, chunksPublished, deliveryLatency, timelineWrites } from "./feed-metrics.js";
import type { SourceOfTruth } from "./source-of-truth.js";

/** Followers per page read from social-graph (direct fan-out). */
const FOLLOWER_PAGE = 1_000;
/**
 * Followers written and notified per step of a delivery. The feed's event loop also serves reads: a
 * chunk's 5000 live messages published in one loop held it for milliseconds; between steps it yields.
 */
const DELIVERY_BATCH = 250;

/** Tells connected clients that a post landed in their timeline (plain NATS, fire and forget). */
export interface LiveNotifier {
  postLanded(userIds: string[], post: posts.Post): void;
}

/** Queues one chunk of a celebrity fan-out on the work queue (idempotent per post and chunk). */
export type ChunkQueue = (job: events.FanoutChunk) => Promise<void>;

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
    private readonly store: TimelineStore,
    private readonly source: SourceOfTruth,
    private readonly celebrities: CelebrityDirectory,
    private readonly progress: FanoutProgressStore,
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
    await this.store.cachePosts([post]);
    if (this.celebrities.isCelebrity(event.authorUserId)) return this.planChunks(post);
    await this.forEachFollowerPage(event.authorUserId, FOLLOWER_PAGE, (followers) => this.deliver(followers, post));
    if (event.createdAt) deliveryLatency.observe((Date.now() - event.createdAt.getTime()) / 1000);
  }

  /** One queued chunk: the followers in its keyset range get the post. Redelivery adds nothing twice. */
  async deliverChunk(job: events.FanoutChunk): Promise<void> {
    const [post] = await this.store.cachedPosts([job.postId]);
    if (post === "deleted") return;
    const body = post ?? (await this.source.postsById([job.postId]))[0];
    if (!body) return;
    const followers = await this.followersInRange(job);
    const written = await this.deliver(followers, body);
    const outcome = await this.progress.chunkDone(job.postId, job.chunkIndex, written);
    chunksLanded.inc({ delivery: outcome.firstTime ? "first" : "redelivery" });
    if (outcome.finished) {
      const { durationMs } = await this.progress.progress(job.postId);
      celebrityFanoutDuration.observe(durationMs / 1000);
    }
    if (this.settings.chunkPauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.settings.chunkPauseMs));
  }

  /** Timelines hold ids only, so an edit is one cache write; readers see it on their next read. */
  async postUpdated(event: events.PostUpdated): Promise<void> {
    const [current] = await this.source.postsById([event.postId]);
    if (current) await this.store.cachePosts([current]);
  }

  /**
   * A tombstone keeps the post from coming back through a late event and hides it from every read.
   * An ordinary author's followers also lose it from their timelines now; for a celebrity's millions
   * of fans, reads drop the tombstoned id from each timeline as they meet it.
   */
  async postDeleted(event: events.PostDeleted): Promise<void> {
    await this.store.markDeleted(event.postId);
    await this.store.removeCelebrityPost(event.authorUserId, event.postId);
    if (this.celebrities.isCelebrity(event.authorUserId)) return;
    await this.forEachFollowerPage(event.authorUserId, FOLLOWER_PAGE, (followers) => this.store.removeFromTimelines(followers, [event.postId]));
  }

  /** Follow or unfollow: brings the cached timeline in line with what social-graph says now. */
  async friendshipChanged(userId: string, friendId: string): Promise<void> {
    if (!(await this.store.timelineExists(userId))) return;
    const following = await this.source.follows(userId, friendId);
    if (!(await this.store.setFollowing(userId, friendId, following))) return;
    // Ids only: bodies are fetched and cached by the reads that show them.
    const friendPosts = await this.source.recentPostIds([friendId], 0, this.settings.maxItems);
    if (following) {
      await this.store.addToTimelines([userId], friendPosts);
      timelineWrites.inc(friendPosts.length);
    } else {
      await this.store.removeFromTimelines([userId], friendPosts);
    }
  }

  /**
   * Splits a celebrity's followers into keyset ranges of FANOUT_CHUNK_SIZE and queues one job per
   * range. social-graph returns only each range's last id, so planning a million followers reads a
   * thousand ids, not a million. The post joins the celebrity's recent list first, so fans see it
   * through the read-time merge before their chunk lands.
   */
  private async planChunks(post: posts.Post): Promise<void> {
    await this.store.addCelebrityPost(post.authorUserId, post.id);
    await this.progress.started(post.id);
    let chunkIndex = 0;
    let after = "";
    for (let done = false; !done; ) {
      const page = await this.source.followerChunkBounds(post.authorUserId, after, this.settings.chunkSize);
      const jobs = page.bounds.map((lastFollowerId, i) => ({ postId: post.id, authorUserId: post.authorUserId, chunkIndex: chunkIndex + i, afterFollowerId: i === 0 ? after : page.bounds[i - 1]!, lastFollowerId }));
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

  /** Writes the post into the followers' cached timelines; returns how many got it. */
  private async deliver(followers: string[], post: posts.Post): Promise<number> {
    let written = 0;
    for (let i = 0; i < followers.length; i += DELIVERY_BATCH) {
      const batch = followers.slice(i, i + DELIVERY_BATCH);
      const added = await this.store.addToTimelines(batch, [post.id]);
      const landed = batch.filter((_, j) => added[j]);
      this.live.postLanded(landed, post);
      timelineWrites.inc(landed.length);
      written += landed.length;
    }
    return written;
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
