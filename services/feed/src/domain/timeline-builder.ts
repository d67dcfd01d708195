import { randomUUID } from "node:crypto";
import type { ClaimMode } from "../data-access/rebuild-locks.js";
import type { FeedCache, Truth } from "./ports.js";
import { rebuildRetries, rebuilds } from "./feed-metrics.js";

/** A rebuild holds the lock at most this long; a replica that died mid-rebuild frees it by expiry. */
const REBUILD_LOCK_MS = 10_000;
/** How long a reader waits for another replica's rebuild before reading the source itself. */
const REBUILD_WAIT_MS = 5_000;
const REBUILD_POLL_MS = 20;
/**
 * Snapshots a rebuild takes before it gives up. Each retry means a change for this user landed in
 * the ~20 ms the snapshot took; five in a row is a storm, and dropping the timeline (the next read
 * rebuilds it) is then cheaper than chasing it.
 */
const MAX_SNAPSHOTS = 5;
/** Other replicas' rebuilds a refresh waits out before it fails (and its event is redelivered later). */
const MAX_REFRESH_WAITS = 3;
/** Timelines refilled at once after a removal made them short: each is a rebuild (two reads on the leaders). */
const REFILL_CONCURRENCY = 4;

/**
 * Builds timelines from the source of truth, without ever writing a stale snapshot: the lock marks
 * the rebuild in progress, every change to the user's timeline meanwhile marks it dirty, and the
 * commit only lands on a clean snapshot (see timeline-scripts.ts). Readers share one build per user
 * in this process and wait for another replica's; events and the reconciler use refresh().
 */
export class TimelineBuilder {
  private readonly inProcess = new Map<string, Promise<boolean>>();

  constructor(
    private readonly cache: FeedCache,
    private readonly source: Truth,
    private readonly maxItems: number,
  ) {}

  /** Makes sure the user's timeline is cached; false when it could not be (the caller reads the source). */
  ensureBuilt(userId: string): Promise<boolean> {
    let pending = this.inProcess.get(userId);
    if (!pending) {
      pending = this.buildIfMissing(userId).finally(() => this.inProcess.delete(userId));
      this.inProcess.set(userId, pending);
    }
    return pending;
  }

  /**
   * Brings a cached timeline in line with the databases now (a follow, an unfollow, a refill, the
   * reconciler's repair). A timeline that is not cached is left alone. One being rebuilt elsewhere
   * is marked, so that rebuild reads again; but its replica may die before it does, taking the mark
   * with its lock, so this waits for the lock to go and then refreshes once more itself.
   */
  async refresh(userId: string): Promise<void> {
    for (let round = 1; round <= MAX_REFRESH_WAITS; round++) {
      if ((await this.rebuild(userId, "cached")) !== "marked") return;
      await this.waitForUnlock(userId, REBUILD_LOCK_MS);
    }
    throw new Error(`timeline of ${userId} stayed locked by other rebuilds; the event will be redelivered`);
  }

  /** Removes posts from cached timelines and refills those that fell below the window's depth. */
  async removeAndRefill(userIds: string[], postIds: string[]): Promise<void> {
    const short = await this.cache.timelines.remove(userIds, postIds);
    for (let i = 0; i < short.length; i += REFILL_CONCURRENCY)
      await Promise.all(short.slice(i, i + REFILL_CONCURRENCY).map((userId) => this.refresh(userId)));
  }

  private async buildIfMissing(userId: string): Promise<boolean> {
    const outcome = await this.rebuild(userId, "missing");
    if (outcome === "present" || outcome === "built") return true;
    if (outcome === "busy") return this.waitForOtherReplica(userId);
    return false;
  }

  private async rebuild(userId: string, mode: ClaimMode): Promise<"built" | "given-up" | "present" | "busy" | "marked" | "absent"> {
    const token = randomUUID();
    const claim = await this.cache.rebuilds.claim(userId, token, REBUILD_LOCK_MS, mode);
    if (claim !== "claimed") return claim;
    for (let snapshot = 1; snapshot <= MAX_SNAPSHOTS; snapshot++) {
      // Ids only: the read that follows fetches and caches the bodies of the page it shows.
      const friends = await this.source.friendsOf(userId);
      const postIds = await this.source.recentPostIds(friends, 0, this.maxItems);
      const outcome = await this.cache.rebuilds.commit(userId, token, postIds, friends);
      if (outcome === "ok") {
        rebuilds.inc();
        return "built";
      }
      if (outcome === "lost" || !(await this.cache.rebuilds.restart(userId, token, REBUILD_LOCK_MS))) break;
      rebuildRetries.inc();
    }
    // The cached timeline may now be wrong and no clean snapshot could be written: an absent cache never is.
    await this.cache.rebuilds.drop(userId, token);
    return "given-up";
  }

  private async waitForOtherReplica(userId: string): Promise<boolean> {
    return (await this.waitForUnlock(userId, REBUILD_WAIT_MS)) && this.cache.timelines.exists(userId);
  }

  /** True once no rebuild holds the user's lock; false if one still does after `timeoutMs`. */
  private async waitForUnlock(userId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, REBUILD_POLL_MS));
      if (!(await this.cache.rebuilds.inProgress(userId))) return true;
    }
    return false;
  }
}
