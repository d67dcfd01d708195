import type { Logger } from "@fanfare/runtime";
import type { TimelineStore } from "../data-access/timeline-store.js";
import { resyncFixes } from "./feed-metrics.js";
import type { SourceOfTruth } from "./source-of-truth.js";
import type { TimelineBuilder } from "./timeline-builder.js";

/** Timelines compared per round: bounds the load one round puts on social-graph and posts. */
const TIMELINES_PER_ROUND = 500;
const SCAN_COUNT = 200;

/**
 * Once per FEED_SYNC_INTERVAL_MS, compares cached timelines with the databases and repairs the
 * ones that drifted (a lost event, a race with a rebuild), as the original system synchronised its
 * cache periodically. Only cached timelines are visited, and those are the recently active users'.
 * Large caches are covered over several rounds: the SCAN cursor carries on where it stopped.
 */
export class Reconciler {
  private cursor = "0";

  constructor(
    private readonly store: TimelineStore,
    private readonly source: SourceOfTruth,
    private readonly builder: TimelineBuilder,
    private readonly maxItems: number,
    private readonly logger: Logger,
  ) {}

  /** One round; returns how many timelines it repaired. */
  async runRound(): Promise<number> {
    let visited = 0;
    let fixed = 0;
    do {
      const step = await this.store.scanTimelines(this.cursor, SCAN_COUNT);
      this.cursor = step.cursor;
      for (const userId of step.userIds) {
        if (await this.repairIfDrifted(userId)) fixed++;
        visited++;
      }
    } while (this.cursor !== "0" && visited < TIMELINES_PER_ROUND);
    if (fixed > 0) this.logger.info({ visited, fixed }, "reconciler repaired timelines");
    return fixed;
  }

  start(intervalMs: number): { stop: () => Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.runRound()).catch((error: unknown) => this.logger.warn({ err: error }, "reconciler round failed"));
    }, intervalMs);
    return {
      stop: async () => {
        clearInterval(timer);
        await running;
      },
    };
  }

  private async repairIfDrifted(userId: string): Promise<boolean> {
    const friends = await this.source.friendsOf(userId);
    const expected = await this.source.recentPostIds(friends, 0, this.maxItems);
    const [cached, cachedFriends] = await Promise.all([this.store.timelinePostIds(userId), this.store.friendIds(userId)]);
    const drifted = !sameMembers(expected, cached) || !sameMembers(friends, cachedFriends);
    if (!drifted) return false;
    await this.builder.rebuild(userId);
    resyncFixes.inc();
    return true;
  }
}

function sameMembers(a: string[], b: string[]): boolean {
  const set = new Set(b);
  return a.length === b.length && a.every((item) => set.has(item));
}
