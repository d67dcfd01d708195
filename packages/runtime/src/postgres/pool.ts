import pg from "pg";
import { runner } from "node-pg-migrate";
import type { Logger } from "../observability/logger.js";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// PostgreSQL's `date` type is a calendar day; keep it as "YYYY-MM-DD" instead of a midnight in local time.
const DATE_OID = 1082;
pg.types.setTypeParser(DATE_OID, (value) => value);

export function createPool(connectionString: string, max: number, applicationName: string): Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: applicationName, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server (restart, failover) must not crash the process; the pool replaces it.
  pool.on("error", () => undefined);
  return pool;
}

/**
 * COMMIT and the WAL position it reached, as one simple-protocol query of two statements: asked
 * separately, the position was one more round trip to the leader on every write. The position
 * cannot fail to read on the leader that just committed; were the second statement to fail anyway,
 * the caller would see an error for a committed change, as with a connection lost after COMMIT.
 */
const COMMIT_REPORTING_POSITION = "COMMIT; SELECT pg_current_wal_insert_lsn()::text AS lsn";

/**
 * A simple-protocol query of several statements, answered with one result per statement in order.
 * It takes no parameters, but costs one round trip instead of one per statement.
 */
export async function queryStatements<Rows extends pg.QueryResultRow[]>(
  client: PoolClient,
  sql: string,
): Promise<{ [K in keyof Rows]: pg.QueryResult<Rows[K]> }> {
  return (await client.query(sql)) as unknown as { [K in keyof Rows]: pg.QueryResult<Rows[K]> };
}

export interface Committed<T> {
  result: T;
  /** The WAL position the commit reached; present when it was asked for. */
  lsn?: string;
}

/**
 * Runs `work` in a transaction on one client, committing on success and rolling back on any error;
 * with `reportPosition`, the commit also answers the WAL position it reached (read-your-writes).
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  reportPosition = false,
): Promise<Committed<T>> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    if (!reportPosition) {
      await client.query("COMMIT");
      return { result };
    }
    const [, position] = await queryStatements<[pg.QueryResultRow, { lsn: string }]>(client, COMMIT_REPORTING_POSITION);
    return { result, lsn: position?.rows[0]?.lsn };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function databaseName(connectionString: string): string {
  return decodeURIComponent(new URL(connectionString).pathname.slice(1));
}

/** "host:port" of a server: the key WAL positions are tracked under. */
export function serverKey(connectionString: string): string {
  const url = new URL(connectionString);
  return `${url.hostname}:${url.port || "5432"}`;
}

/**
 * Creates the service's database when it does not exist yet, so a fresh server needs no manual
 * step. Where the role may not create databases the error says so and migrations report the rest.
 */
export async function ensureDatabase(connectionString: string, logger: Logger): Promise<void> {
  const database = databaseName(connectionString);
  const admin = new URL(connectionString);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    logger.info({ database }, "created database");
  } catch (error) {
    // Another process creating the same database at the same moment is fine.
    if ((error as { code?: string }).code !== "42P04") throw error;
  } finally {
    await client.end();
  }
}

/** Applies the versioned migrations in `dir` (node-pg-migrate, SQL files), under its advisory lock. */
export async function migrate(connectionString: string, dir: string, logger: Logger): Promise<void> {
  const applied = await runner({
    databaseUrl: connectionString,
    dir,
    direction: "up",
    migrationsTable: "schema_migrations",
    advisoryLockMode: "wait",
    log: () => undefined,
    logger: { debug: () => undefined, info: () => undefined, warn: (m: string) => logger.warn(m), error: (m: string) => logger.error(m) },
  });
  if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, "applied migrations");
}
