import type { FeedRedis } from "./redis-client.js";
import { redisKeys } from "./redis-keys.js";
import { uuidFromBytes, uuidToBytes } from "@fanfare/runtime";

/** Newest posts kept per celebrity for read-time merges: more than anyone pages through before chunks land. */
const CELEBRITY_RECENT_POSTS = 200;
/** A celebrity's recent-posts list lives as long as an active timeline. */
const CELEBRITY_POSTS_TTL_SECONDS = 30 * 24 * 3600;

/** `cposts:{celebrity}`: a celebrity's newest post ids, merged into fans' pages until their chunk lands. */
export class CelebrityPostLists {
  constructor(private readonly redis: FeedRedis) {}

  async add(celebrityId: string, postId: string): Promise<void> {
    const key = redisKeys.celebrityPosts(celebrityId);
    await this.redis
      .multi()
      .zadd(key, 0, uuidToBytes(postId))
      .zremrangebyrank(key, 0, -(CELEBRITY_RECENT_POSTS + 1))
      .expire(key, CELEBRITY_POSTS_TTL_SECONDS)
      .exec();
  }

  async remove(celebrityId: string, postId: string): Promise<void> {
    await this.redis.zrem(redisKeys.celebrityPosts(celebrityId), uuidToBytes(postId));
  }

  /** The newest `count` post ids of each celebrity, newest first (one key each: any slot, any node). */
  async recent(celebrityIds: string[], count: number): Promise<string[][]> {
    const lists = await Promise.all(celebrityIds.map((id) => this.redis.zrevrangeBuffer(redisKeys.celebrityPosts(id), 0, count - 1)));
    return lists.map((members) => members.map((member) => uuidFromBytes(member)));
  }
}
