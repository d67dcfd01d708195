import { CallBatcher, type BatchOutcome } from "@fanfare/runtime";
import { HISTORY_END, isPostMember, postIdOfMember, timelineMember } from "./post-ids.js";
import { BatchScript, groupBySlot, scanAll, type FeedRedis } from "./redis-client.js";
import { keyAround, redisKeys, userIdOfTimelineKey } from "./redis-keys.js";
import { ADD_SCRIPT, READ_PAGES_SCRIPT, REMOVE_SCRIPT } from "./timeline-scripts.js";

/**
 * Posts remembered as pushed per connected user, and for how long after the last push: enough to
 * recognise a redelivered fan-out (seconds to minutes later) without growing with the user's history.
 */
const PUSHED_KEPT = 256;
const PUSHED_TTL_MS = 10 * 60_000;
/** Timelines per script run: about a millisecond of Redis time, so reads queued behind it barely wait. */
const TIMELINES_PER_SCRIPT = 250;

const ADD = new BatchScript(ADD_SCRIPT);
const REMOVE = new BatchScript(REMOVE_SCRIPT);
const READ_PAGES = new BatchScript(READ_PAGES_SCRIPT);

interface PageRead {
  userId: string;
  offset: number;
  limit: number;
  candidates: string[];
}

/** READ_PAGES_SCRIPT's answer for one page: size, members, and 1 or 0 per candidate. */
type PageAnswer = [number, Buffer[], number[]];

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

/** One user's part in a fan-out write: "added" (new to the timeline), "present" (already there), or skipped; and whether to push. */
export interface TimelineAdd {
  outcome: "added" | "present" | "not-cached" | "not-followed";
  push: boolean;
}

function timelinePage(read: PageRead, [card, members, following]: PageAnswer): TimelinePage {
  return {
    exists: card > 0,
    size: Math.max(card - 1, 0),
    postIds: members.filter(isPostMember).map(postIdOfMember),
    historyEnds: members.at(-1)?.equals(HISTORY_END) ?? false,
    followed: read.candidates.filter((_, i) => following[i] === 1),
  };
}

function addOutcome(result: number): TimelineAdd["outcome"] {
  if (result === -1) return "not-cached";
  if (result === -2) return "not-followed";
  return result > 0 ? "added" : "present";
}

/**
 * `tln:{user}` and `fr:{user}` (and `pushed:{user}`, written with them): each user's cached timeline of
 * post ids and the friend set it is filtered by. Rebuilds write both through RebuildLocks.
 */
export class TimelineStore {
  /** ADD_SCRIPT's key templates: the timeline key's, then those of the keys it names from it. */
  private readonly addKeyTemplates: string[];

  /** Page reads made together (the pages of one GetFeeds call) go to Redis as one script per slot. */
  private readonly pageReads = new CallBatcher<PageRead, TimelinePage>((reads) => this.readPages(reads), "tick");

  constructor(
    private readonly redis: FeedRedis,
    /** Fan-out adds run here (a connection of their own); everything else on `redis`. */
    private readonly fanOutRedis: FeedRedis,
    private readonly maxItems: number,
    private readonly activeTtlSeconds: number,
  ) {
    const prefix = redis.options.keyPrefix ?? "";
    this.addKeyTemplates = [
      redisKeys.timeline,
      redisKeys.friends,
      redisKeys.rebuildLock,
      redisKeys.rebuildPending,
      redisKeys.connected,
      redisKeys.livePushed,
    ].flatMap((keyOf) => keyAround(keyOf, prefix));
  }

  /**
   * One page, newest first, and which of `candidates` (the celebrities) the user follows, by a
   * script (a user's keys share a slot); marks the user active (timeline and friends live
   * FEED_ACTIVE_DAYS more). Membership is asked, not the friend set read: decoding hundreds of friend
   * ids per read was the largest cost of a warm read in profiles. The pages asked for in the same
   * tick are read by one script per slot (all of them, on a single server).
   */
  readPage(userId: string, offset: number, limit: number, candidates: string[] = []): Promise<TimelinePage> {
    return this.pageReads.call({ userId, offset, limit, candidates });
  }

  private async readPages(reads: PageRead[]): Promise<BatchOutcome<TimelinePage>[]> {
    const outcomes = new Map<PageRead, BatchOutcome<TimelinePage>>();
    const groups = groupBySlot(this.redis, reads, (read) => redisKeys.timeline(read.userId), TIMELINES_PER_SCRIPT);
    await Promise.all(
      groups.map(async (group) => {
        try {
          const keys = group.flatMap((read) => [redisKeys.timeline(read.userId), redisKeys.friends(read.userId)]);
          const args = group.flatMap((read) => [read.offset, read.offset + read.limit - 1, read.candidates.length, ...read.candidates]);
          const answers = await READ_PAGES.runBuffer<PageAnswer[]>(this.redis, keys, [this.activeTtlSeconds, ...args]);
          group.forEach((read, i) => outcomes.set(read, { value: timelinePage(read, answers[i]!) }));
        } catch (error) {
          for (const read of group) outcomes.set(read, { error });
        }
      }),
    );
    return reads.map((read) => outcomes.get(read)!);
  }

  async exists(userId: string): Promise<boolean> {
    return (await this.redis.exists(redisKeys.timeline(userId))) === 1;
  }

  /** The cached post ids, oldest first. */
  async postIds(userId: string): Promise<string[]> {
    const members = await this.redis.zrangeBuffer(redisKeys.timeline(userId), "0", "-1");
    return members.filter(isPostMember).map(postIdOfMember).reverse();
  }

  async friendIds(userId: string): Promise<string[]> {
    return this.redis.smembers(redisKeys.friends(userId));
  }

  /**
   * Fan-out: adds an author's posts to each user's cached timeline whose friend set holds the author
   * (see ADD_SCRIPT); returns, per user, what happened and whether to push the posts to them (they
   * are connected to a live feed and were not pushed these posts before).
   */
  async add(userIds: string[], authorId: string, postIds: string[]): Promise<TimelineAdd[]> {
    if (userIds.length === 0 || postIds.length === 0) return userIds.map(() => ({ outcome: "not-cached", push: false }));
    const members = postIds.map(timelineMember);
    const outcomes = new Map<string, TimelineAdd>();
    await Promise.all(
      this.scriptBatches(userIds).map(async (batch) => {
        const [results, push] = await ADD.run<[number[], number[]]>(this.fanOutRedis, batch.map(redisKeys.timeline), [
          this.maxItems,
          authorId,
          PUSHED_KEPT,
          PUSHED_TTL_MS,
          ...this.addKeyTemplates,
          ...members,
        ]);
        batch.forEach((userId, i) => outcomes.set(userId, { outcome: addOutcome(results[i]!), push: push[i] === 1 }));
      }),
    );
    return userIds.map((userId) => outcomes.get(userId)!);
  }

  /** Removes posts from the users' cached timelines; returns the users whose full timeline became short (to refill). */
  async remove(userIds: string[], postIds: string[]): Promise<string[]> {
    if (userIds.length === 0 || postIds.length === 0) return [];
    const members = postIds.map(timelineMember);
    const refill: string[] = [];
    await Promise.all(
      this.scriptBatches(userIds).map(async (batch) => {
        const keys = batch.flatMap((userId) => [redisKeys.timeline(userId), redisKeys.rebuildLock(userId)]);
        const outcomes = await REMOVE.run<number[]>(this.redis, keys, [this.maxItems, ...members]);
        batch.forEach((userId, i) => outcomes[i] === 1 && refill.push(userId));
      }),
    );
    return refill;
  }

  /** One step of a SCAN over cached timelines (every master of a cluster): the next cursor ("0" when done) and user ids. */
  async scan(cursor: string, count: number): Promise<{ cursor: string; userIds: string[] }> {
    const step = await scanAll(this.redis, cursor, redisKeys.timelinePattern, count);
    return { cursor: step.cursor, userIds: step.keys.map(userIdOfTimelineKey) };
  }

  /**
   * Users whose keys one script run may touch together: up to TIMELINES_PER_SCRIPT of one server, or
   * of one slot on a cluster. The caller issues all batches of a step at once; on a single server
   * they run one after another (each about a millisecond), on a cluster auto-pipelining carries one
   * pipeline per master.
   */
  private scriptBatches(userIds: string[]): string[][] {
    return groupBySlot(this.redis, userIds, redisKeys.timeline, TIMELINES_PER_SCRIPT);
  }
}
