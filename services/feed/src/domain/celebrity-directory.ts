import type { Logger } from "@fanfare/runtime/observability";
import type { Truth } from "./ports.js";

/**
 * How long a former celebrity's recent posts are still merged at read time: long enough for the
 * chunks already queued for them to land.
 */
const DEMOTED_GRACE_MS = 10 * 60_000;
/** Retry period while social-graph cannot be reached. */
const RETRY_MS = 1_000;

/**
 * Who the celebrities are, held in memory by every feed replica: a short list, loaded from
 * social-graph, refreshed periodically and updated at once by graph.celebrity.changed.
 */
export class CelebrityDirectory {
  private current = new Set<string>();
  private readonly demotedUntil = new Map<string, number>();

  constructor(
    private readonly source: Truth,
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

  /**
   * Whose recent posts a reader's feed merges if the reader follows them: celebrities, and those who
   * just stopped being one. Every warm read asks the reader's friend set about each of them, which
   * stays cheap because celebrities are rare (CELEBRITY_THRESHOLD defaults to 10,000 followers).
   */
  mergeable(): string[] {
    const now = Date.now();
    return [...this.current, ...[...this.demotedUntil].filter(([, until]) => until > now).map(([id]) => id)];
  }

  /**
   * Loads the list now and keeps it fresh. social-graph may not be up yet (services start in any
   * order): a failed load is logged, the last known list kept, and it is tried again within a second.
   */
  startRefreshing(intervalMs: number): { stop: () => void } {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      const ok = await this.refresh().then(
        () => true,
        (error: unknown) => {
          this.logger.warn({ err: error }, "celebrity list refresh failed; retrying");
          return false;
        },
      );
      if (!stopped) timer = setTimeout(() => void tick(), ok ? intervalMs : RETRY_MS);
    };
    void tick();
    return {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}
