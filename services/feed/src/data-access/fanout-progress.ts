import type { FeedRedis } from "./redis-client.js";
import { redisKeys } from "./redis-keys.js";

/** Progress records outlive the fan-out by a day, for whoever asks afterwards. */
const PROGRESS_TTL_SECONDS = 24 * 3600;

/**
 * Marks one chunk as landed, once however often it is delivered; stamps the finish time when the
 * last planned chunk lands. Returns {1 if new, chunks done, chunks planned (0 while planning)}.
 */
const CHUNK_DONE_SCRIPT = `
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then redis.call('HINCRBY', KEYS[1], 'written', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local done = redis.call('SCARD', KEYS[2])
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
if total > 0 and done >= total then redis.call('HSETNX', KEYS[1], 'finished', ARGV[3]) end
return {added, done, total}`;

/** Records how many chunks were planned, and the finish time if they have all landed already. */
const PLANNED_SCRIPT = `
redis.call('HSET', KEYS[1], 'total', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[1]) then redis.call('HSETNX', KEYS[1], 'finished', ARGV[2]) end
return 1`;

type ProgressRedis = FeedRedis & {
  fanoutChunkDone(
    progressKey: string,
    doneKey: string,
    index: number,
    written: number,
    now: number,
    ttl: number,
  ): Promise<[number, number, number]>;
  fanoutPlanned(progressKey: string, doneKey: string, total: number, now: number, ttl: number): Promise<number>;
};

export interface FanoutProgress {
  chunked: boolean;
  chunksTotal: number;
  chunksDone: number;
  timelinesWritten: number;
  done: boolean;
  durationMs: number;
}

/** Where each celebrity post's chunked fan-out stands (GetFanoutProgress, metrics). */
export class FanoutProgressStore {
  private readonly redis: ProgressRedis;

  constructor(redis: FeedRedis) {
    redis.defineCommand("fanoutChunkDone", { numberOfKeys: 2, lua: CHUNK_DONE_SCRIPT });
    redis.defineCommand("fanoutPlanned", { numberOfKeys: 2, lua: PLANNED_SCRIPT });
    this.redis = redis as ProgressRedis;
  }

  async started(postId: string): Promise<void> {
    const key = redisKeys.fanoutProgress(postId);
    await this.redis.multi().hsetnx(key, "started", Date.now()).expire(key, PROGRESS_TTL_SECONDS).exec();
  }

  async planned(postId: string, chunks: number): Promise<void> {
    await this.redis.fanoutPlanned(
      redisKeys.fanoutProgress(postId),
      redisKeys.fanoutChunksDone(postId),
      chunks,
      Date.now(),
      PROGRESS_TTL_SECONDS,
    );
  }

  /** Records a landed chunk; `firstTime` is false for a redelivery, `finished` when it was the last. */
  async chunkDone(postId: string, index: number, written: number): Promise<{ firstTime: boolean; finished: boolean }> {
    const [added, done, total] = await this.redis.fanoutChunkDone(
      redisKeys.fanoutProgress(postId),
      redisKeys.fanoutChunksDone(postId),
      index,
      written,
      Date.now(),
      PROGRESS_TTL_SECONDS,
    );
    return { firstTime: added === 1, finished: added === 1 && total > 0 && done >= total };
  }

  async progress(postId: string): Promise<FanoutProgress> {
    const [fields, done] = await Promise.all([
      this.redis.hgetall(redisKeys.fanoutProgress(postId)),
      this.redis.scard(redisKeys.fanoutChunksDone(postId)),
    ]);
    const total = Number(fields.total ?? 0);
    const finished = Number(fields.finished ?? 0);
    return {
      chunked: fields.started !== undefined,
      chunksTotal: total,
      chunksDone: done,
      timelinesWritten: Number(fields.written ?? 0),
      done: finished > 0,
      durationMs: finished > 0 ? finished - Number(fields.started ?? finished) : 0,
    };
  }
}
