import type { Logger } from "@fanfare/runtime";
import type { SourceOfTruth } from "./source-of-truth.js";

/**
 * How long a former celebrity's recent posts are still merged at read time: long enough for the
 * chunks already queued for them to land.
 */
const DEMOTED_GRACE_MS = 10 * 60_000;

/**
 * Who the celebrities are, held in memory by every feed replica: a short list, loaded from
 * social-graph, refreshed periodically and updated at once by graph.celebrity.changed.
 */
export class CelebrityDirectory {
  private current = new Set<string>();
  private readonly demotedUntil = new Map<string, number>();

  constructor(
    private readonly source: SourceOfTruth,
    private readonly logger: Logger,
  ) {}

  async refresh(): Promise<void> {
    const latest = new Set(await this.source.celebrities());
    for (const id of this.current) if (!latest.has(id)) this.demotedUntil.set(id, Date.now() + DEMOTED_GRACE_MS);
    for (const id of latest) this.demotedUntil.delete(id);
    this.current = latest;
  }

  apply(userId: string, celebrity: boolean): void {
    if (celebrity) {
      this.current.add(userId);
      this.demotedUntil.delete(userId);
    } else if (this.current.delete(userId)) {
      this.demotedUntil.set(userId, Date.now() + DEMOTED_GRACE_MS);
    }
  }

  isCelebrity(userId: string): boolean {
    return this.current.has(userId);
  }

  /** The friends whose recent posts a reader's feed merges: celebrities, and those who just stopped being one. */
  mergeable(friendIds: string[]): string[] {
    const now = Date.now();
    return friendIds.filter((id) => this.current.has(id) || (this.demotedUntil.get(id) ?? 0) > now);
  }

  /** Periodic refresh; a failed one is logged and the last known list kept. */
  startRefreshing(intervalMs: number): { stop: () => void } {
    const timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.logger.warn({ err: error }, "celebrity list refresh failed"));
    }, intervalMs);
    return { stop: () => clearInterval(timer) };
  }
}
