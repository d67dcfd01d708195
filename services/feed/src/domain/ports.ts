import type { events, posts } from "@fanfare/contracts";
import type { FanoutProgressStore } from "../data-access/fanout-progress.js";
import type { TimelineStore } from "../data-access/timeline-store.js";

// The ports the feed's use cases work through. Each names the part of an adapter the domain uses,
// so the adapters (Redis in data-access/, gRPC and NATS in outbound/) stay the one definition of
// each method, and tests can stand small in-memory fakes in their place.

/** Cached timelines, friend sets, post bodies, celebrity lists and rebuild locks (Redis). */
export type TimelineCache = Pick<
  TimelineStore,
  | "readPage"
  | "follows"
  | "addCelebrityPost"
  | "removeCelebrityPost"
  | "celebrityRecentPosts"
  | "timelineExists"
  | "timelinePostIds"
  | "addToTimelines"
  | "removeFromTimelines"
  | "markConnected"
  | "friendIds"
  | "cachedPosts"
  | "cachePosts"
  | "markDeleted"
  | "claimRebuild"
  | "restartRebuild"
  | "commitRebuild"
  | "dropTimeline"
  | "isRebuildLocked"
  | "scanTimelines"
>;

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
  /** The last follower id of each range of `chunkSize` followers after `after`; done at the list's end. */
  followerChunkBounds(userId: string, after: string, chunkSize: number): Promise<{ bounds: string[]; done: boolean }>;
  /** One keyset page of the user's followers after `after`; `next` is "" at the end. */
  followerPage(userId: string, after: string, pageSize: number): Promise<{ ids: string[]; next: string }>;
}

/** A celebrity fan-out's progress: chunks planned and landed, start and finish. */
export type FanoutProgressLog = Pick<FanoutProgressStore, "started" | "planned" | "chunkDone" | "progress">;

/** Tells connected clients that a post of someone they follow arrived (plain NATS, fire and forget). */
export interface LiveNotifier {
  postLanded(userIds: string[], post: posts.Post): void;
}

/** Queues one chunk of a celebrity fan-out on the work queue (idempotent per post and chunk). */
export type ChunkQueue = (job: events.FanoutChunk) => Promise<void>;
