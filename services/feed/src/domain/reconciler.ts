import type { Logger } from "@fanfare/runtime/observability";
import type { FeedCache } from "./ports.js";
import { resyncFixes } from "./feed-metrics.js";
import type { TimelineAuditor } from "./timeline-audit.js";
import type { TimelineBuilder } from "./timeline-builder.js";

const SCAN_COUNT = 200;

/**
 * The net under the event flow, as the original system synchronised its cache periodically: every
 * FEED_SYNC_INTERVAL_MS a pass audits every cached timeline against the databases (SCAN, so replicas
 * share nothing but Redis) and refreshes those that drifted. A pass is paced at FEED_SYNC_RATE audits
 * a second (each is two reads on the leaders), so a drift heals within one interval plus one pass:
 * at most interval + max(interval, cached timelines / rate). A pass still running when the next is
 * due just goes on. A drift seen while events are in flight is refreshed too; refreshing a right
 * timeline costs a rebuild and changes nothing.
 */
export class Reconciler {
  /** Set by stop(): a pass in progress ends after the timeline it is auditing. */
  private stopping = false;

  constructor(
    private readonly cache: FeedCache,
    private readonly auditor: TimelineAuditor,
    private readonly builder: TimelineBuilder,
    private readonly logger: Logger,
  ) {}

  /** One pass over every cached timeline, at most `ratePerSecond` audits a second (unpaced when absent); returns how many it repaired. */
  async runPass(ratePerSecond?: number): Promise<number> {
    const started = Date.now();
    let visited = 0;
    let fixed = 0;
    for (let cursor = "0"; ;) {
      const step = await this.cache.timelines.scan(cursor, SCAN_COUNT);
      for (const userId of step.userIds) {
        if (this.stopping) return fixed;
        if (await this.repairIfDrifted(userId)) fixed++;
        visited++;
        if (ratePerSecond) await pace(started, visited, ratePerSecond);
      }
      cursor = step.cursor;
      if (cursor === "0") break;
    }
    if (fixed > 0) this.logger.info({ visited, fixed, seconds: (Date.now() - started) / 1000 }, "reconciler repaired timelines");
    return fixed;
  }

  start(intervalMs: number, ratePerSecond: number): { stop: () => Promise<void> } {
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      running ??= this.runPass(ratePerSecond)
        .catch((error: unknown) => this.logger.warn({ err: error }, "reconciler pass failed"))
        .finally(() => (running = undefined));
    }, intervalMs);
    return {
      stop: async () => {
        this.stopping = true;
        clearInterval(timer);
        await running;
      },
    };
  }

  private async repairIfDrifted(userId: string): Promise<boolean> {
    if (!(await this.auditor.audit(userId))) return false;
    await this.builder.refresh(userId);
    resyncFixes.inc();
    return true;
  }
}

/** Sleeps until `visited` audits fit the rate since `started`. */
async function pace(started: number, visited: number, ratePerSecond: number): Promise<void> {
  const due = started + (visited * 1000) / ratePerSecond;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
