import { randomUUID } from "node:crypto";
import type { TimelineStore } from "../data-access/timeline-store.js";
import { rebuilds } from "./feed-metrics.js";
import type { SourceOfTruth } from "./source-of-truth.js";

/** A rebuild holds the lock at most this long; a replica that died mid-rebuild frees it by expiry. */
const REBUILD_LOCK_MS = 10_000;
/** How long a reader waits for another replica's rebuild before reading the source itself. */
const REBUILD_WAIT_MS = 5_000;
const REBUILD_POLL_MS = 20;
/** Posts re-read right after the swap, to catch any that fan-out skipped while the timeline was missing. */
const CATCH_UP_POSTS = 50;

/**
 * Builds timelines from the source of truth: once per user however many readers ask at the same
 * moment, in this process (shared promise) and across replicas (a Redis lock; the others wait).
 */
export class TimelineBuilder {
  private readonly inProcess = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: TimelineStore,
    private readonly source: SourceOfTruth,
    private readonly maxItems: number,
  ) {}

  /** Makes sure the user's timeline is cached; false if another replica's rebuild did not finish in time. */
  ensureBuilt(userId: string): Promise<boolean> {
    let pending = this.inProcess.get(userId);
    if (!pending) {
      pending = this.buildOnceAcrossReplicas(userId).finally(() => this.inProcess.delete(userId));
      this.inProcess.set(userId, pending);
    }
    return pending;
  }

  /** Rebuilds unconditionally (the reconciler's repair). */
  async rebuild(userId: string): Promise<void> {
    // Ids only: the read that follows fetches and caches the bodies of the page it shows.
    const friends = await this.source.friendsOf(userId);
    const recent = await this.source.recentPostIds(friends, 0, this.maxItems);
    await this.store.replaceTimeline(userId, recent, friends);
    await this.catchUp(userId, friends);
    rebuilds.inc();
  }

  private async buildOnceAcrossReplicas(userId: string): Promise<boolean> {
    const token = randomUUID();
    if (await this.store.tryLockRebuild(userId, token, REBUILD_LOCK_MS)) {
      try {
        if (!(await this.store.timelineExists(userId))) await this.rebuild(userId);
        return true;
      } finally {
        await this.store.unlockRebuild(userId, token);
      }
    }
    return this.waitForOtherReplica(userId);
  }

  private async waitForOtherReplica(userId: string): Promise<boolean> {
    const deadline = Date.now() + REBUILD_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, REBUILD_POLL_MS));
      if (!(await this.store.isRebuildLocked(userId))) return this.store.timelineExists(userId);
    }
    return false;
  }

  /**
   * Fan-out leaves missing timelines alone, so a post committed after the source was read but
   * fanned out before the swap would be lost; reading the newest posts again after the swap closes
   * that window (anything later is fanned out into the now existing timeline).
   */
  private async catchUp(userId: string, friends: string[]): Promise<void> {
    await this.store.addToTimelines([userId], await this.source.recentPostIds(friends, 0, CATCH_UP_POSTS));
  }
}
