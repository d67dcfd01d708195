import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Redis } from "ioredis";
import { posts } from "@fanfare/contracts";
import type { Logger } from "@fanfare/runtime/observability";
import { fromBinaryId, HISTORY_CUT, HISTORY_END, toBinaryId } from "./post-ids.js";
import { redisKeys, userIdOfTimelineKey } from "./redis-keys.js";
import {
  ADD_SCRIPT,
  CACHE_POST_SCRIPT,
  CLAIM_SCRIPT,
  COMMIT_SCRIPT,
  DROP_SCRIPT,
  REMOVE_SCRIPT,
  RESTART_SCRIPT,
} from "./timeline-scripts.js";

type Post = posts.Post;

/** A deleted post's cache entry: one byte, kept long enough to outlive any late event about the post. */
const TOMBSTONE = Buffer.from([0]);
const TOMBSTONE_TTL_SECONDS = 2 * 24 * 3600;
/** Post bodies stay cached this long after their last write; timelines hold ids only. */
const POST_TTL_SECONDS = 14 * 24 * 3600;
/**
 * Posts remembered as pushed per connected user, and for how long after the last push: enough to
 * recognise a redelivered fan-out (seconds to minutes later) without growing with the user's history.
 */
const PUSHED_KEPT = 256;
const PUSHED_TTL_MS = 10 * 60_000;
/** Timelines per script run: about a millisecond of Redis time, so reads queued behind it barely wait. */
const TIMELINES_PER_SCRIPT = 250;

type ScriptArg = string | number | Buffer;

interface ScriptedRedis extends Redis {
  timelinesAdd(keyCount: number, ...keysThenArgs: ScriptArg[]): Promise<[number[], number[]]>;
  timelinesRemove(keyCount: number, ...keysThenArgs: ScriptArg[]): Promise<number[]>;
  claimRebuild(timeline: string, lock: string, pending: string, token: string, ttlMs: number, mode: ClaimMode): Promise<ClaimOutcome>;
  restartRebuild(lock: string, pending: string, token: string, ttlMs: number): Promise<number>;
  commitRebuild(timeline: string, friends: string, lock: string, pending: string, ...args: ScriptArg[]): Promise<CommitOutcome>;
  dropTimeline(timeline: string, friends: string, lock: string, pending: string, token: string): Promise<number>;
  cachePost(key: string, body: Buffer, ttl: number): Promise<number>;
}

interface ScriptedPipeline extends ChainableCommander {
  cachePost(key: string, body: Buffer, ttl: number): ScriptedPipeline;
}

/** "missing": a reader wants the timeline built; "cached": an event wants a cached timeline made right. */
export type ClaimMode = "missing" | "cached";
export type ClaimOutcome = "claimed" | "busy" | "present" | "marked" | "absent";
export type CommitOutcome = "ok" | "dirty" | "lost";

export interface TimelinePage {
  /** False when the user has no cached timeline (never read, expired or flushed). */
  exists: boolean;
  /** Posts in the cached window. */
  size: number;
  postIds: string[];
  /** The page reached the timeline's end, and nothing older exists (HISTORY_END). */
  historyEnds: boolean;
  /** Those of the asked-about users (celebrities) this user follows, by the cached friend set. */
  followed: string[];
}

/** Newest posts kept per celebrity for read-time merges: more than anyone pages through before chunks land. */
const CELEBRITY_RECENT_POSTS = 200;
/** A celebrity's recent-posts list lives as long as an active timeline. */
const CELEBRITY_POSTS_TTL_SECONDS = 30 * 24 * 3600;

export type CachedPost = Post | "deleted" | undefined;

/** One user's part in a fan-out write: "added" (new to the timeline), "present" (already there), or skipped; and whether to push. */
export interface TimelineAdd {
  outcome: "added" | "present" | "not-cached" | "not-followed";
  push: boolean;
}

function addOutcome(result: number): TimelineAdd["outcome"] {
  if (result === -1) return "not-cached";
  if (result === -2) return "not-followed";
  return result > 0 ? "added" : "present";
}

/** The feed's Redis: timelines (ids only), post bodies once per post, friend sets, rebuild locks. */
export class TimelineStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly maxItems: number,
    private readonly activeTtlSeconds: number,
  ) {
    redis.defineCommand("timelinesAdd", { lua: ADD_SCRIPT });
    redis.defineCommand("timelinesRemove", { lua: REMOVE_SCRIPT });
    redis.defineCommand("claimRebuild", { numberOfKeys: 3, lua: CLAIM_SCRIPT });
    redis.defineCommand("restartRebuild", { numberOfKeys: 2, lua: RESTART_SCRIPT });
    redis.defineCommand("commitRebuild", { numberOfKeys: 4, lua: COMMIT_SCRIPT });
    redis.defineCommand("dropTimeline", { numberOfKeys: 4, lua: DROP_SCRIPT });
    redis.defineCommand("cachePost", { numberOfKeys: 1, lua: CACHE_POST_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  /**
   * Timelines are sorted sets with score 0 and 16-byte members, so they stay in Redis's compact
   * listpack encoding (about 20 bytes an entry) only if listpacks may hold a whole timeline.
   */
  async ensureCompactEncoding(logger: Logger): Promise<void> {
    const wanted = { "zset-max-listpack-entries": this.maxItems + 1, "zset-max-listpack-value": 16 };
    for (const [name, minimum] of Object.entries(wanted)) {
      try {
        const [, value] = (await this.redis.config("GET", name)) as [string, string];
        if (Number(value) >= minimum) continue;
        await this.redis.config("SET", name, String(minimum));
        logger.info({ setting: name, from: Number(value), to: minimum }, "raised Redis setting for compact timelines");
      } catch (error) {
        logger.warn(
          { err: error, setting: name, minimum },
          `cannot check or set ${name}; timelines may use ~7x more memory. Set ${name} >= ${minimum} in redis.conf`,
        );
      }
    }
  }

  /**
   * One page, newest first, and which of `candidates` (the celebrities) the user follows, in one
   * round trip (a user's keys share a slot); marks the user active (timeline and friends live
   * FEED_ACTIVE_DAYS more). Membership is asked, not the friend set read: decoding hundreds of friend
   * ids per read was the largest cost of a warm read in profiles. Plain commands, not a pipeline:
   * auto-pipelining sends the commands of every read in the same tick in one socket write.
   */
  async readPage(userId: string, offset: number, limit: number, candidates: string[] = []): Promise<TimelinePage> {
    const key = redisKeys.timeline(userId);
    const friendsKey = redisKeys.friends(userId);
    const [card, members, following] = await Promise.all([
      this.redis.zcard(key),
      this.redis.zrevrangeBuffer(key, offset, offset + limit - 1),
      candidates.length > 0 ? this.redis.smismember(friendsKey, ...candidates) : [],
      this.redis.expire(key, this.activeTtlSeconds),
      this.redis.expire(friendsKey, this.activeTtlSeconds),
    ]);
    return {
      exists: card > 0,
      size: Math.max(card - 1, 0),
      postIds: members.filter((member) => member.length === 16).map(fromBinaryId),
      historyEnds: members.at(-1)?.equals(HISTORY_END) ?? false,
      followed: candidates.filter((_, i) => following[i] === 1),
    };
  }

  /** Which of these users the user follows, by the cached friend set (SMISMEMBER, in order). */
  async follows(userId: string, friendIds: string[]): Promise<boolean[]> {
    if (friendIds.length === 0) return [];
    return (await this.redis.smismember(redisKeys.friends(userId), ...friendIds)).map((member) => member === 1);
  }

  async addCelebrityPost(celebrityId: string, postId: string): Promise<void> {
    const key = redisKeys.celebrityPosts(celebrityId);
    await this.redis
      .multi()
      .zadd(key, 0, toBinaryId(postId))
      .zremrangebyrank(key, 0, -(CELEBRITY_RECENT_POSTS + 1))
      .expire(key, CELEBRITY_POSTS_TTL_SECONDS)
      .exec();
  }

  async removeCelebrityPost(celebrityId: string, postId: string): Promise<void> {
    await this.redis.zrem(redisKeys.celebrityPosts(celebrityId), toBinaryId(postId));
  }

  /** The newest `count` post ids of each celebrity, newest first. */
  async celebrityRecentPosts(celebrityIds: string[], count: number): Promise<string[][]> {
    if (celebrityIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of celebrityIds) pipeline.zrevrangeBuffer(redisKeys.celebrityPosts(id), 0, count - 1);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, members]) => {
      if (error) throw error;
      return (members as Buffer[]).map(fromBinaryId);
    });
  }

  async timelineExists(userId: string): Promise<boolean> {
    return (await this.redis.exists(redisKeys.timeline(userId))) === 1;
  }

  async timelinePostIds(userId: string): Promise<string[]> {
    const members = await this.redis.zrangeBuffer(redisKeys.timeline(userId), "0", "-1");
    return members.filter((member) => member.length === 16).map(fromBinaryId);
  }

  /**
   * Fan-out: adds an author's posts to each user's cached timeline whose friend set holds the author
   * (see ADD_SCRIPT); returns, per user, what happened and whether to push the posts to them (they
   * are connected to a live feed and were not pushed these posts before).
   */
  async addToTimelines(userIds: string[], authorId: string, postIds: string[]): Promise<TimelineAdd[]> {
    if (userIds.length === 0 || postIds.length === 0) return userIds.map(() => ({ outcome: "not-cached", push: false }));
    const members = postIds.map(toBinaryId);
    const outcomes = new Map<string, TimelineAdd>();
    // One batch at a time: a reader's command then waits behind at most one script run per writer.
    for (const batch of this.scriptBatches(userIds)) {
      const keys = batch.flatMap((userId) => [
        redisKeys.timeline(userId),
        redisKeys.friends(userId),
        redisKeys.rebuildLock(userId),
        redisKeys.rebuildPending(userId),
        redisKeys.connected(userId),
        redisKeys.livePushed(userId),
      ]);
      const [results, push] = await this.redis.timelinesAdd(
        keys.length,
        ...keys,
        this.maxItems,
        authorId,
        PUSHED_KEPT,
        PUSHED_TTL_MS,
        ...members,
      );
      batch.forEach((userId, i) => outcomes.set(userId, { outcome: addOutcome(results[i]!), push: push[i] === 1 }));
    }
    return userIds.map((userId) => outcomes.get(userId)!);
  }

  /** Marks users as connected to a live feed for `ttlMs` (renewed by their gateway while they are). */
  async markConnected(userIds: string[], ttlMs: number): Promise<void> {
    await Promise.all(userIds.map((userId) => this.redis.set(redisKeys.connected(userId), "1", "PX", ttlMs)));
  }

  /** Removes posts from the users' cached timelines; returns the users whose full timeline became short (to refill). */
  async removeFromTimelines(userIds: string[], postIds: string[]): Promise<string[]> {
    if (userIds.length === 0 || postIds.length === 0) return [];
    const members = postIds.map(toBinaryId);
    const refill: string[] = [];
    for (const batch of this.scriptBatches(userIds)) {
      const keys = batch.flatMap((userId) => [redisKeys.timeline(userId), redisKeys.rebuildLock(userId)]);
      const outcomes = await this.redis.timelinesRemove(keys.length, ...keys, this.maxItems, ...members);
      batch.forEach((userId, i) => outcomes[i] === 1 && refill.push(userId));
    }
    return refill;
  }

  /**
   * Users whose keys one script run may touch together: any on a single server; on a Redis Cluster
   * only users of one slot (there a batch is mostly one follower, correct but without the batching gain).
   */
  private scriptBatches(userIds: string[]): string[][] {
    const groups = new Map<number, string[]>();
    for (const userId of userIds) {
      const slot = this.redis.isCluster ? calculateSlot(redisKeys.timeline(userId)) : 0;
      const group = groups.get(slot);
      if (group) group.push(userId);
      else groups.set(slot, [userId]);
    }
    const batches: string[][] = [];
    for (const group of groups.values())
      for (let i = 0; i < group.length; i += TIMELINES_PER_SCRIPT) batches.push(group.slice(i, i + TIMELINES_PER_SCRIPT));
    return batches;
  }

  async friendIds(userId: string): Promise<string[]> {
    return this.redis.smembers(redisKeys.friends(userId));
  }

  /** Post bodies by id; GETs, not a pipeline, so concurrent reads share socket writes (see readPage). */
  async cachedPosts(postIds: string[]): Promise<CachedPost[]> {
    const values = await Promise.all(postIds.map((id) => this.redis.getBuffer(redisKeys.post(id))));
    return values.map((value) => {
      if (!value) return undefined;
      if (value.length === 1) return "deleted";
      return posts.Post.decode(value);
    });
  }

  /** Caches post bodies; returns, per post, false when it is known to be deleted (tombstoned). */
  async cachePosts(bodies: Post[]): Promise<boolean[]> {
    if (bodies.length === 0) return [];
    const pipeline = this.redis.pipeline() as ScriptedPipeline;
    for (const post of bodies) pipeline.cachePost(redisKeys.post(post.id), Buffer.from(posts.Post.encode(post).finish()), POST_TTL_SECONDS);
    return (await execOrThrow(pipeline)).map((result) => result === 1);
  }

  async markDeleted(postId: string): Promise<void> {
    await this.redis.set(redisKeys.post(postId), TOMBSTONE, "EX", TOMBSTONE_TTL_SECONDS);
  }

  /** Starts a rebuild of the user's timeline under `token` (see CLAIM_SCRIPT for the outcomes). */
  claimRebuild(userId: string, token: string, ttlMs: number, mode: ClaimMode): Promise<ClaimOutcome> {
    return this.redis.claimRebuild(
      redisKeys.timeline(userId),
      redisKeys.rebuildLock(userId),
      redisKeys.rebuildPending(userId),
      token,
      ttlMs,
      mode,
    );
  }

  /** Before reading the databases again; false when the lock expired or was taken over. */
  async restartRebuild(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.restartRebuild(redisKeys.rebuildLock(userId), redisKeys.rebuildPending(userId), token, ttlMs)) === 1;
  }

  /**
   * Writes the rebuilt timeline and friend set and releases the lock, unless anything changed
   * meanwhile. `postIds` are the newest of the friends' posts, at most a window's worth: fewer
   * than that is their whole history (HISTORY_END).
   */
  commitRebuild(userId: string, token: string, postIds: string[], friendIds: string[]): Promise<CommitOutcome> {
    const members = postIds.slice(0, this.maxItems).map(toBinaryId);
    const marker = postIds.length < this.maxItems ? HISTORY_END : HISTORY_CUT;
    return this.redis.commitRebuild(
      redisKeys.timeline(userId),
      redisKeys.friends(userId),
      redisKeys.rebuildLock(userId),
      redisKeys.rebuildPending(userId),
      token,
      this.activeTtlSeconds,
      this.maxItems,
      members.length,
      marker,
      ...members,
      ...friendIds,
    );
  }

  /** Gives a rebuild up: drops the timeline and friend set (the next read builds them), and the lock if still ours. */
  async dropTimeline(userId: string, token: string): Promise<void> {
    await this.redis.dropTimeline(
      redisKeys.timeline(userId),
      redisKeys.friends(userId),
      redisKeys.rebuildLock(userId),
      redisKeys.rebuildPending(userId),
      token,
    );
  }

  async isRebuildLocked(userId: string): Promise<boolean> {
    return (await this.redis.exists(redisKeys.rebuildLock(userId))) === 1;
  }

  /** One step of a SCAN over cached timelines: the next cursor ("0" when done) and user ids. */
  async scanTimelines(cursor: string, count: number): Promise<{ cursor: string; userIds: string[] }> {
    const [next, keys] = await this.redis.scan(cursor, "MATCH", redisKeys.timelinePattern, "COUNT", count);
    return { cursor: next, userIds: keys.map(userIdOfTimelineKey) };
  }
}

async function execOrThrow(commands: ChainableCommander): Promise<unknown[]> {
  const results = (await commands.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  return results.map(([, result]) => result);
}
