import type { FeedRedis } from "./redis-client.js";
import { redisKeys } from "./redis-keys.js";
import { HISTORY_CUT, HISTORY_END, packTimelineMembers } from "./post-ids.js";
import { CLAIM_SCRIPT, COMMIT_SCRIPT, DROP_SCRIPT, RESTART_SCRIPT } from "./timeline-scripts.js";

/** "missing": a reader wants the timeline built; "cached": an event wants a cached timeline made right. */
export type ClaimMode = "missing" | "cached";
export type ClaimOutcome = "claimed" | "busy" | "present" | "marked" | "absent";
export type CommitOutcome = "ok" | "dirty" | "lost";

type ScriptArg = string | number | Buffer;

type RebuildRedis = FeedRedis & {
  claimRebuild(timeline: string, lock: string, pending: string, token: string, ttlMs: number, mode: ClaimMode): Promise<ClaimOutcome>;
  restartRebuild(lock: string, pending: string, token: string, ttlMs: number): Promise<number>;
  commitRebuild(timeline: string, friends: string, lock: string, pending: string, ...args: ScriptArg[]): Promise<CommitOutcome>;
  dropTimeline(timeline: string, friends: string, lock: string, pending: string, token: string): Promise<number>;
};

/**
 * `lock:tl:{user}` and `pend:tl:{user}`: a rebuild of one user's timeline, from its claim to the
 * commit that writes the timeline and friend set and releases the lock in one step (the rules are
 * in timeline-scripts.ts). Every key of a call carries the user's hash tag: one slot.
 */
export class RebuildLocks {
  private readonly redis: RebuildRedis;

  constructor(
    redis: FeedRedis,
    private readonly maxItems: number,
    private readonly activeTtlSeconds: number,
  ) {
    redis.defineCommand("claimRebuild", { numberOfKeys: 3, lua: CLAIM_SCRIPT });
    redis.defineCommand("restartRebuild", { numberOfKeys: 2, lua: RESTART_SCRIPT });
    redis.defineCommand("commitRebuild", { numberOfKeys: 4, lua: COMMIT_SCRIPT });
    redis.defineCommand("dropTimeline", { numberOfKeys: 4, lua: DROP_SCRIPT });
    this.redis = redis as RebuildRedis;
  }

  /** Starts a rebuild of the user's timeline under `token` (see CLAIM_SCRIPT for the outcomes). */
  claim(userId: string, token: string, ttlMs: number, mode: ClaimMode): Promise<ClaimOutcome> {
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
  async restart(userId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.restartRebuild(redisKeys.rebuildLock(userId), redisKeys.rebuildPending(userId), token, ttlMs)) === 1;
  }

  /**
   * Writes the rebuilt timeline and friend set and releases the lock, unless anything changed
   * meanwhile. `postIds` are the newest of the friends' posts, at most a window's worth: fewer
   * than that is their whole history (HISTORY_END).
   */
  commit(userId: string, token: string, postIds: string[], friendIds: string[]): Promise<CommitOutcome> {
    const marker = postIds.length < this.maxItems ? HISTORY_END : HISTORY_CUT;
    return this.redis.commitRebuild(
      redisKeys.timeline(userId),
      redisKeys.friends(userId),
      redisKeys.rebuildLock(userId),
      redisKeys.rebuildPending(userId),
      token,
      this.activeTtlSeconds,
      this.maxItems,
      marker,
      // One argument instead of a thousand: the script splits it (COMMIT_SCRIPT).
      packTimelineMembers(postIds.slice(0, this.maxItems)),
      ...friendIds,
    );
  }

  /** Gives a rebuild up: drops the timeline and friend set (the next read builds them), and the lock if still ours. */
  async drop(userId: string, token: string): Promise<void> {
    await this.redis.dropTimeline(
      redisKeys.timeline(userId),
      redisKeys.friends(userId),
      redisKeys.rebuildLock(userId),
      redisKeys.rebuildPending(userId),
      token,
    );
  }

  async inProgress(userId: string): Promise<boolean> {
    return (await this.redis.exists(redisKeys.rebuildLock(userId))) === 1;
  }
}
