import type { FeedRedis } from "./redis-client.js";
import { redisKeys } from "./redis-keys.js";

/** `live:{user}`: present while the user has a live-feed socket open on some gateway. */
export class LiveMarks {
  constructor(private readonly redis: FeedRedis) {}

  /** Marks users as connected for `ttlMs` (renewed by their gateway while they are). */
  async markConnected(userIds: string[], ttlMs: number): Promise<void> {
    await Promise.all(userIds.map((userId) => this.redis.set(redisKeys.connected(userId), "1", "PX", ttlMs)));
  }
}
