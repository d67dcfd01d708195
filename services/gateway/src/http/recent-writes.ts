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
 * replica only once it has replayed them. With several gateways the positions are shared among
 * them (GatewayPeers), so a user may hop between gateways.
 */
export class RecentWrites {
  private readonly entries = new ExpiringMap<LsnByDatabase>(MAX_USERS);

  constructor(private readonly peers?: WritePeers) {}

  /** Keeps where the user's write reached; resolves once the other gateways can know it too. */
  async remember(userId: string, lsns: LsnByDatabase): Promise<void> {
    this.merge(userId, lsns);
    await this.peers?.shareWrite(userId, lsns);
  }

  /** A position learnt from another gateway. */
  merge(userId: string, lsns: LsnByDatabase): void {
    this.entries.set(userId, mergeLsns(this.entries.get(userId), lsns)!, Date.now() + REMEMBER_MS);
  }

  /** The positions the user's reads must see, including writes made through other gateways. */
  async positionsOf(userId: string): Promise<LsnByDatabase | undefined> {
    await this.peers?.caughtUp();
    return this.entries.get(userId);
  }
}

/** What RecentWrites needs of the other gateways (gateway-peers.ts over NATS). */
export interface WritePeers {
  shareWrite(userId: string, lsns: LsnByDatabase): Promise<void>;
  caughtUp(): Promise<void>;
}
