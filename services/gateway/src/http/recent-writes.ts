import { ExpiringMap, mergeLsns } from "@fanfare/runtime";
import type { LsnByDatabase } from "@fanfare/runtime/observability";

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
  private readonly entries = new ExpiringMap<LsnByDatabase>(MAX_USERS);

  remember(userId: string, lsns: LsnByDatabase): void {
    this.entries.set(userId, mergeLsns(this.get(userId), lsns)!, Date.now() + REMEMBER_MS);
  }

  get(userId: string): LsnByDatabase | undefined {
    return this.entries.get(userId);
  }
}
