import type { QueryResult, QueryResultRow } from "pg";
import { currentRequestContext, type Logger } from "../observability/logger.js";
import { laterLsn, lsnValue, recordWrittenLsn, requiredLsn } from "../core/lsn.js";
import { counter, gauge } from "../observability/metrics.js";
import { isConnectionError } from "../core/errors.js";
import { inTransaction, type Pool, type PoolClient } from "./pool.js";

/** How often the replica's replay position and the leader's WAL position are sampled. */
const HEALTH_INTERVAL_MS = 500;
/** A health probe slower than this counts as a failure. */
const HEALTH_TIMEOUT_MS = 1_000;

const queries = counter("db_queries_total", "Queries by database and server role", ["database", "role"]);
const fallbacks = counter("db_replica_fallbacks_total", "Reads sent to the leader instead of the replica, by reason", [
  "database",
  "reason",
]);
const lagBytes = gauge("db_replica_lag_bytes", "WAL bytes the replica has not replayed yet", ["database"]);
const lagSeconds = gauge("db_replica_lag_seconds", "Seconds since the replica last replayed a transaction while behind", ["database"]);

export interface RouterOptions {
  /** For metrics and logs. */
  database: string;
  /** The leader's "host:port": WAL positions are tracked per server. */
  server: string;
  primary: Pool;
  replica?: Pool;
  /** Behind by more than this, the replica serves no reads until it catches up. */
  maxLagMs: number;
  logger: Logger;
}

type ReplicaState = { reachable: boolean; replayLsn?: string; lagging: boolean };

/**
 * Sends writes and transactions to the leader and reads to the replica, except where the replica
 * cannot be trusted: it is down or lagging past the bound (reads go to the leader, with a metric
 * and a log line), or it has not yet replayed a write the caller made (read-your-writes: the caller
 * carries the leader's WAL position after its write, and the replica must have replayed it).
 */
export class DatabaseRouter {
  readonly database: string;
  readonly server: string;
  readonly primary: Pool;
  private readonly replica?: Pool;
  private state: ReplicaState = { reachable: true, lagging: false };
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;

  constructor(private readonly options: RouterOptions) {
    this.database = options.database;
    this.server = options.server;
    this.primary = options.primary;
    this.replica = options.replica && options.replica !== options.primary ? options.replica : undefined;
  }

  start(): void {
    if (!this.replica) return;
    void this.refreshSample();
    this.timer = setInterval(() => void this.refreshSample(), HEALTH_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * A read. `expectRows`: fewer rows than this on the replica may mean "not replayed yet" (a row
   * someone else just created), so the leader is asked too.
   */
  async read<R extends QueryResultRow>(sql: string, params: unknown[], options: { expectRows?: number } = {}): Promise<QueryResult<R>> {
    const pool = await this.poolForRead();
    if (pool === this.primary) return this.onPrimary<R>(sql, params);
    try {
      const result = await pool.query<R>(sql, params);
      queries.inc({ database: this.database, role: "replica" });
      if (options.expectRows !== undefined && (result.rowCount ?? 0) < options.expectRows) {
        fallbacks.inc({ database: this.database, reason: "not_found_on_replica" });
        return this.onPrimary<R>(sql, params);
      }
      return result;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.markReplicaDown(error);
      fallbacks.inc({ database: this.database, reason: "replica_error" });
      return this.onPrimary<R>(sql, params);
    }
  }

  /** A single-statement write on the leader; its WAL position is reported to the caller. */
  async write<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<QueryResult<R>> {
    return this.transaction((client) => client.query<R>(sql, params));
  }

  /** A transaction on the leader; after commit, its WAL position is reported to the caller. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    queries.inc({ database: this.database, role: "primary" });
    const { result, lsn } = await inTransaction(this.primary, work, this.replica !== undefined);
    if (lsn) recordWrittenLsn(this.options.server, lsn);
    return result;
  }

  private async onPrimary<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<QueryResult<R>> {
    queries.inc({ database: this.database, role: "primary" });
    return this.primary.query<R>(sql, params);
  }

  private async poolForRead(): Promise<Pool> {
    if (!this.replica) return this.primary;
    if (currentRequestContext()?.readLeader) return this.fallback("leader_requested");
    if (!this.state.reachable) return this.fallback("replica_down");
    if (this.state.lagging) return this.fallback("replica_lagging");
    const required = requiredLsn(this.options.server);
    // The last sample may predate the caller's write while the replica has replayed it already: look again.
    if (required && !this.replayed(required)) await this.refreshSample();
    if (required && !this.replayed(required)) return this.fallback("read_your_writes");
    return this.replica;
  }

  private replayed(lsn: string): boolean {
    return this.state.replayLsn !== undefined && lsnValue(this.state.replayLsn) >= lsnValue(lsn);
  }

  /** One sample at a time, shared by every read that waits for it. */
  private refreshSample(): Promise<void> {
    this.sampling ??= this.sample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private fallback(reason: string): Pool {
    fallbacks.inc({ database: this.database, reason });
    return this.primary;
  }

  private async sample(): Promise<void> {
    const replica = this.replica!;
    try {
      const [replay, leader] = await Promise.all([
        withTimeout(
          replica.query<{ lsn: string | null; idle: number | null }>(
            "SELECT pg_last_wal_replay_lsn()::text AS lsn, extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS idle",
          ),
        ),
        withTimeout(this.primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).catch(() => undefined),
      ]);
      const replayLsn = replay.rows[0]?.lsn ?? undefined;
      const leaderLsn = leader?.rows[0]?.lsn;
      const behind = leaderLsn && replayLsn ? Number(lsnValue(laterLsn(leaderLsn, replayLsn)!) - lsnValue(replayLsn)) : 0;
      const idleSeconds = replay.rows[0]?.idle ?? 0;
      // Behind and not replaying for longer than the bound: lagging. Caught up but idle: fine.
      const lagging = behind > 0 && idleSeconds * 1000 > this.options.maxLagMs;
      lagBytes.set({ database: this.database }, behind);
      lagSeconds.set({ database: this.database }, behind > 0 ? idleSeconds : 0);
      if (!this.state.reachable) this.options.logger.info({ database: this.database }, "replica reachable again; reads return to it");
      if (lagging && !this.state.lagging)
        this.options.logger.warn({ database: this.database, behind, idleSeconds }, "replica lagging; reads go to the leader");
      this.state = { reachable: true, replayLsn, lagging };
    } catch (error) {
      this.markReplicaDown(error);
    }
  }

  private markReplicaDown(error: unknown): void {
    if (this.state.reachable)
      this.options.logger.warn({ err: error, database: this.database }, "replica unreachable; reads go to the leader");
    this.state = { ...this.state, reachable: false };
  }
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("health probe timed out")), HEALTH_TIMEOUT_MS)),
  ]);
}
