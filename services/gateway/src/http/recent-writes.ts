import { mergeLsns, type LsnByDatabase } from "@fanfare/runtime";

/**
 * How long a user's reads insist on seeing their own writes: far longer than the replica may lag
 * before reads leave it anyway (PG_REPLICA_MAX_LAG_MS), so a write is never "forgotten" too early.
 */
const REMEMBER_MS = 30_000;
/** Bounded memory: past this many users the oldest entries go (their reads may then see a replica a moment behind). */
const MAX_USERS = 100_000;

/**
 * Read-your-writes at the gateway: the WAL positions each user's writes reached (reported by the
 * services in gRPC trailers), attached to that user's next calls so the services read from the
 * replica only once it has replayed them. Per gateway process: with several gateways, route a user
 * to the same one (or accept that another gateway may serve a replica read a moment behind).
 */
export class RecentWrites {
  private readonly entries = new Map<string, { lsns: LsnByDatabase; until: number }>();

  remember(userId: string, lsns: LsnByDatabase): void {
    const merged = mergeLsns(this.get(userId), lsns)!;
    this.entries.delete(userId);
    this.entries.set(userId, { lsns: merged, until: Date.now() + REMEMBER_MS });
    if (this.entries.size > MAX_USERS) this.entries.delete(this.entries.keys().next().value!);
  }

  get(userId: string): LsnByDatabase | undefined {
    const entry = this.entries.get(userId);
    if (!entry) return undefined;
    if (entry.until >= Date.now()) return entry.lsns;
    this.entries.delete(userId);
    return undefined;
  }
}
