import type { FeedCache, Truth } from "./ports.js";

/** How one cached timeline differs from the databases; every list empty means it is right. */
export interface TimelineDrift {
  userId: string;
  /** Posts the truth has at or after the oldest cached one, missing from the timeline: a lost fan-out or follow. */
  missingInWindow: string[];
  /** Older posts the truth still has within FEED_MAX_ITEMS, missing at the end: history cut short. */
  missingOlder: string[];
  /** Posts in the timeline the truth does not have: deleted, unfollowed or never the user's to see. */
  extra: string[];
  /** Follow rows missing from the cached friend set, and cached friends with no follow row. */
  missingFriends: string[];
  extraFriends: string[];
}

export type DriftKind = Exclude<keyof TimelineDrift, "userId">;
export const DRIFT_KINDS: readonly DriftKind[] = ["missingInWindow", "missingOlder", "extra", "missingFriends", "extraFriends"];

export interface AuditReport {
  /** Cached timelines compared. */
  audited: number;
  /** Of those, how many differ in any way. */
  differing: number;
  /** Timelines showing each kind of difference (one timeline may show several). */
  byKind: Record<DriftKind, number>;
  /** The first differing timelines, for a look at the ids. */
  examples: TimelineDrift[];
}

/** Timelines compared at once: each costs two reads on the leaders. */
const AUDIT_CONCURRENCY = 8;
const SCAN_COUNT = 500;
const EXAMPLES_KEPT = 5;

/**
 * The truth audit: a cached timeline must hold exactly the newest FEED_MAX_ITEMS posts of the people
 * the user follows (deleted posts are gone from the truth), and its friend set exactly the follow
 * rows. Read-only; meaningful when events are idle (while they flow, a timeline may be a moment behind).
 */
export class TimelineAuditor {
  constructor(
    private readonly cache: FeedCache,
    private readonly source: Truth,
    private readonly maxItems: number,
  ) {}

  /** The user's drift, or undefined when the timeline is right or not cached. */
  async audit(userId: string): Promise<TimelineDrift | undefined> {
    const friends = await this.source.friendsOf(userId);
    const expected = await this.source.recentPostIds(friends, 0, this.maxItems);
    const [exists, cached, cachedFriends] = await Promise.all([
      this.cache.timelines.exists(userId),
      this.cache.timelines.postIds(userId),
      this.cache.timelines.friendIds(userId),
    ]);
    if (!exists) return undefined;
    const drift = compareTimeline(userId, { posts: expected, friends }, { posts: cached, friends: cachedFriends });
    return hasDrift(drift) ? drift : undefined;
  }

  /** Audits the given users' cached timelines, or every cached timeline when none are given. */
  async auditAll(userIds?: string[]): Promise<AuditReport> {
    const report: AuditReport = {
      audited: 0,
      differing: 0,
      byKind: Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, 0])) as Record<DriftKind, number>,
      examples: [],
    };
    const record = async (userId: string) => {
      if (!(await this.cache.timelines.exists(userId))) return;
      report.audited++;
      const drift = await this.audit(userId);
      if (!drift) return;
      report.differing++;
      for (const kind of DRIFT_KINDS) if (drift[kind].length > 0) report.byKind[kind]++;
      if (report.examples.length < EXAMPLES_KEPT) report.examples.push(drift);
    };
    if (userIds) await inParallel(userIds, AUDIT_CONCURRENCY, record);
    else
      for (let cursor = "0"; ;) {
        const step = await this.cache.timelines.scan(cursor, SCAN_COUNT);
        await inParallel(step.userIds, AUDIT_CONCURRENCY, record);
        cursor = step.cursor;
        if (cursor === "0") break;
      }
    return report;
  }
}

/** Pure comparison of a cached timeline with the truth; post ids are UUID v7, so string order is time order. */
export function compareTimeline(
  userId: string,
  truth: { posts: string[]; friends: string[] },
  cached: { posts: string[]; friends: string[] },
): TimelineDrift {
  const cachedPosts = new Set(cached.posts);
  const truthPosts = new Set(truth.posts);
  const oldestCached = cached.posts.reduce<string | undefined>(
    (oldest, id) => (oldest === undefined || id < oldest ? id : oldest),
    undefined,
  );
  const missing = truth.posts.filter((id) => !cachedPosts.has(id));
  return {
    userId,
    missingInWindow: missing.filter((id) => oldestCached !== undefined && id >= oldestCached),
    missingOlder: missing.filter((id) => oldestCached === undefined || id < oldestCached),
    extra: cached.posts.filter((id) => !truthPosts.has(id)),
    missingFriends: difference(truth.friends, cached.friends),
    extraFriends: difference(cached.friends, truth.friends),
  };
}

export function hasDrift(drift: TimelineDrift): boolean {
  return DRIFT_KINDS.some((kind) => drift[kind].length > 0);
}

function difference(a: string[], b: string[]): string[] {
  const set = new Set(b);
  return a.filter((item) => !set.has(item));
}

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
