import type { events, posts } from "@fanfare/contracts";
import type { CelebrityPostLists } from "../data-access/celebrity-posts.js";
import type { FanoutProgressStore } from "../data-access/fanout-progress.js";
import type { LiveMarks } from "../data-access/live-marks.js";
import type { PostCache } from "../data-access/post-cache.js";
import type { RebuildLocks } from "../data-access/rebuild-locks.js";
import type { TimelineStore } from "../data-access/timeline-store.js";

// The ports the feed's use cases work through. The Redis ones are the public shape of the
// data-access classes (one per row of ARCHITECTURE.md's key table), so each method has one
// definition; the others are named here and fitted by outbound/ adapters. Tests stand small
// in-memory fakes in their place (test/support/fakes/feed.ts).

/** The public methods of a class, without its private state: what a fake must provide. */
type Port<T> = { [K in keyof T]: T[K] };

/** The feed's Redis, by key family. */
export interface FeedCache {
  /** `tln:{user}`, `fr:{user}`: cached timelines and the friend sets they are filtered by. */
  timelines: Port<TimelineStore>;
  /** `post:{post}`: bodies and tombstones. */
  posts: Port<PostCache>;
  /** `cposts:{celebrity}`: celebrities' recent posts for the read-time merge. */
  celebrityPosts: Port<CelebrityPostLists>;
  /** `lock:tl:{user}`, `pend:tl:{user}`: rebuilds in progress. */
  rebuilds: Port<RebuildLocks>;
  /** `live:{user}`: users with a live-feed socket open. */
  liveMarks: Port<LiveMarks>;
}

/**
 * What the databases say, through social-graph and posts: the truth timelines are built from
 * (outbound/source-of-truth.ts over gRPC). Ids are UUID v7 strings; "" means "from the start".
 */
export interface Truth {
  /** Whom the user follows. */
  friendsOf(userId: string): Promise<string[]>;
  /** The newest posts of these authors, newest first, skipping `offset`; with `before`, only posts older than that one. */
  recentPosts(authorIds: string[], offset: number, limit: number, before?: string): Promise<posts.Post[]>;
  /** The same page as recentPosts, ids only. */
  recentPostIds(authorIds: string[], offset: number, limit: number): Promise<string[]>;
  /** Posts by id; deleted ones are missing from the answer. */
  postsById(postIds: string[]): Promise<posts.Post[]>;
  /** Every user flagged celebrity. */
  celebrities(): Promise<string[]>;
  /**
   * The user's followers after `after` in chunks of `chunkSize` (16-byte ids back to back), as many
   * chunks as one call carries; done at the list's end.
   */
  followerChunks(userId: string, after: string, chunkSize: number): Promise<{ chunks: Buffer[]; done: boolean }>;
  /** One keyset page of the user's followers after `after`; `next` is "" at the end. */
  followerPage(userId: string, after: string, pageSize: number): Promise<{ ids: string[]; next: string }>;
}

/** A celebrity fan-out's progress: chunks planned and landed, start and finish. */
export type FanoutProgressLog = Port<FanoutProgressStore>;

/** Tells connected clients that a post of someone they follow arrived (plain NATS, fire and forget). */
export interface LiveNotifier {
  postLanded(userIds: string[], post: posts.Post): void;
}

/** The celebrity fan-out's work queue: posts to plan, then their chunks (idempotent per post, and per post and chunk). */
export interface FanoutQueue {
  plan(job: events.FanoutPlan): Promise<void>;
  chunk(job: events.FanoutChunk): Promise<void>;
}
