import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Redis } from "ioredis";
import { posts } from "@fanfare/contracts";
import type { Logger } from "@fanfare/runtime";
import { BUILT_MARKER, fromBinaryId, toBinaryId } from "./post-ids.js";
import { redisKeys, userIdOfTimelineKey } from "./redis-keys.js";

type Post = posts.Post;

/** A deleted post's cache entry: one byte, kept long enough to outlive any late event about the post. */
const TOMBSTONE = Buffer.from([0]);
const TOMBSTONE_TTL_SECONDS = 2 * 24 * 3600;
/** Post bodies stay cached this long after their last write; timelines hold ids only. */
const POST_TTL_SECONDS = 14 * 24 * 3600;

/**
 * Adds members to each existing timeline in KEYS and trims it to the newest ARGV[1] posts (the
 * built marker, the lowest member, always stays). A missing timeline is left alone: its user has
 * not read lately, and the next read rebuilds it. Returns, per key, how many members were new, or -1.
 * One run covers a batch of timelines, so a fan-out costs one script run per batch, not per follower.
 */
const ADD_SCRIPT = `
local maxItems = tonumber(ARGV[1])
local results = {}
for k = 1, #KEYS do
  local key = KEYS[k]
  if redis.call('EXISTS', key) == 0 then
    results[k] = -1
  else
    local added = 0
    for i = 2, #ARGV do added = added + redis.call('ZADD', key, 'NX', 0, ARGV[i]) end
    if added > 0 then
      local excess = redis.call('ZCARD', key) - 1 - maxItems
      if excess > 0 then redis.call('ZREMRANGEBYRANK', key, 1, excess) end
    end
    results[k] = added
  end
end
return results`;
/** Timelines per script run: about a millisecond of Redis time, so reads queued behind it barely wait. */
const TIMELINES_PER_SCRIPT = 250;

/** Caches a post body unless the post is already known to be deleted. */
const CACHE_POST_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and string.len(current) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

/** Changes the friend set of a cached timeline only; an uncached user gets it at rebuild. */
const SET_FRIEND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

/** Releases a lock only if we still hold it. */
const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface ScriptedRedis extends Redis {
  timelinesAdd(keyCount: number, ...keysThenArgs: (string | number | Buffer)[]): Promise<number[]>;
  cachePost(key: string, body: Buffer, ttl: number): Promise<number>;
  setFriend(timelineKey: string, friendsKey: string, friendId: string, following: "0" | "1", ttl: number): Promise<number>;
  releaseLock(key: string, token: string): Promise<number>;
}

interface ScriptedPipeline extends ChainableCommander {
  cachePost(key: string, body: Buffer, ttl: number): ScriptedPipeline;
}

export interface TimelinePage {
  /** False when the user has no cached timeline (never read, expired or flushed). */
  exists: boolean;
  /** Posts in the cached window. */
  size: number;
  postIds: string[];
  /** Those of the asked-about users (celebrities) this user follows, by the cached friend set. */
  followed: string[];
}

/** Newest posts kept per celebrity for read-time merges: more than anyone pages through before chunks land. */
const CELEBRITY_RECENT_POSTS = 200;
/** A celebrity's recent-posts list lives as long as an active timeline. */
const CELEBRITY_POSTS_TTL_SECONDS = 30 * 24 * 3600;

export type CachedPost = Post | "deleted" | undefined;

/** The feed's Redis: timelines (ids only), post bodies once per post, friend sets, rebuild locks. */
export class TimelineStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly maxItems: number,
    private readonly activeTtlSeconds: number,
  ) {
    redis.defineCommand("timelinesAdd", { lua: ADD_SCRIPT });
    redis.defineCommand("cachePost", { numberOfKeys: 1, lua: CACHE_POST_SCRIPT });
    redis.defineCommand("setFriend", { numberOfKeys: 2, lua: SET_FRIEND_SCRIPT });
    redis.defineCommand("releaseLock", { numberOfKeys: 1, lua: RELEASE_LOCK_SCRIPT });
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
        logger.warn({ err: error, setting: name, minimum }, `cannot check or set ${name}; timelines may use ~7x more memory. Set ${name} >= ${minimum} in redis.conf`);
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

  /** Adds posts to each user's timeline that is cached; returns, per user, whether something was new. */
  async addToTimelines(userIds: string[], postIds: string[]): Promise<boolean[]> {
    if (userIds.length === 0 || postIds.length === 0) return userIds.map(() => false);
    const members = postIds.map(toBinaryId);
    const timelineKeys = userIds.map(redisKeys.timeline);
    const added = new Map<string, number>();
    // One batch at a time: a reader's command then waits behind at most one script run per writer.
    for (const keys of this.scriptBatches(timelineKeys)) {
      const counts = await this.redis.timelinesAdd(keys.length, ...keys, this.maxItems, ...members);
      keys.forEach((key, i) => added.set(key, counts[i]!));
    }
    return timelineKeys.map((key) => (added.get(key) ?? 0) > 0);
  }

  /**
   * Keys one script run may touch together: any on a single server; on a Redis Cluster only keys
   * of one slot (there a batch is mostly one follower, correct but without the batching gain).
   */
  private scriptBatches(keys: string[]): string[][] {
    const groups = new Map<number, string[]>();
    for (const key of keys) {
      const slot = this.redis.isCluster ? calculateSlot(key) : 0;
      const group = groups.get(slot);
      if (group) group.push(key);
      else groups.set(slot, [key]);
    }
    const batches: string[][] = [];
    for (const group of groups.values()) for (let i = 0; i < group.length; i += TIMELINES_PER_SCRIPT) batches.push(group.slice(i, i + TIMELINES_PER_SCRIPT));
    return batches;
  }

  async removeFromTimelines(userIds: string[], postIds: string[]): Promise<void> {
    if (userIds.length === 0 || postIds.length === 0) return;
    const members = postIds.map(toBinaryId);
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.zrem(redisKeys.timeline(userId), ...members);
    await execOrThrow(pipeline);
  }

  /** Replaces a timeline and its friend set at once (rebuild and resync). */
  async replaceTimeline(userId: string, postIds: string[], friendIds: string[]): Promise<void> {
    const key = redisKeys.timeline(userId);
    const friendsKey = redisKeys.friends(userId);
    const members = postIds.slice(0, this.maxItems).flatMap((id) => [0, toBinaryId(id)]);
    const transaction = this.redis.multi().del(key).call("ZADD", [key, 0, BUILT_MARKER, ...members]).expire(key, this.activeTtlSeconds).del(friendsKey);
    if (friendIds.length > 0) transaction.sadd(friendsKey, ...friendIds).expire(friendsKey, this.activeTtlSeconds);
    await execOrThrow(transaction);
  }

  /** Records a follow or unfollow in a cached friend set; false when the timeline is not cached. */
  async setFollowing(userId: string, friendId: string, following: boolean): Promise<boolean> {
    const result = await this.redis.setFriend(redisKeys.timeline(userId), redisKeys.friends(userId), friendId, following ? "1" : "0", this.activeTtlSeconds);
    return result === 1;
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

  async cachePosts(bodies: Post[]): Promise<void> {
    if (bodies.length === 0) return;
    const pipeline = this.redis.pipeline() as ScriptedPipeline;
    for (const post of bodies) pipeline.cachePost(redisKeys.post(post.id), Buffer.from(posts.Post.encode(post).finish()), POST_TTL_SECONDS);
    await execOrThrow(pipeline);
  }

  async markDeleted(postId: string): Promise<void> {
    await this.redis.set(redisKeys.post(postId), TOMBSTONE, "EX", TOMBSTONE_TTL_SECONDS);
  }

  async tryLockRebuild(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(redisKeys.rebuildLock(userId), token, "PX", ttlMs, "NX")) === "OK";
  }

  async isRebuildLocked(userId: string): Promise<boolean> {
    return (await this.redis.exists(redisKeys.rebuildLock(userId))) === 1;
  }

  async unlockRebuild(userId: string, token: string): Promise<void> {
    await this.redis.releaseLock(redisKeys.rebuildLock(userId), token);
  }

  /** One step of a SCAN over cached timelines: the next cursor ("0" when done) and user ids. */
  async scanTimelines(cursor: string, count: number): Promise<{ cursor: string; userIds: string[] }> {
    const [next, keys] = await this.redis.scan(cursor, "MATCH", redisKeys.timelinePattern, "COUNT", count);
    return { cursor: next, userIds: keys.map(userIdOfTimelineKey) };
  }
}

async function execOrThrow(commands: ChainableCommander): Promise<void> {
  for (const [error] of (await commands.exec()) ?? []) if (error) throw error;
}
