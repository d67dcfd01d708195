import { randomUUID } from "node:crypto";
import { headers as natsHeaders, type JetStreamClient, type NatsConnection } from "nats";
import pg from "pg";
import type { Logger } from "../observability/logger.js";
import { encodeLsns, EVENT_LSN_HEADER } from "../core/lsn.js";
import { counter, gauge } from "../observability/metrics.js";
import { queryStatements, type Pool, type PoolClient } from "./pool.js";

/**
 * Transactional outbox. A producer writes its event row in the same transaction as the change it
 * describes; the relay publishes rows to JetStream with Nats-Msg-Id = event id and deletes exactly
 * the rows JetStream acknowledged. A crash or a NATS outage therefore loses nothing, and a republish
 * after a crash is dropped by JetStream's de-duplication window.
 *
 * Order: ids come from a sequence taken before commit, so a transaction may commit after one with a
 * higher id. The relay never assumes "everything below the last id I published is gone": it deletes
 * by id, and a row that commits late with a lower id is simply published in a later round. Events
 * about one row (a post, a user's friendship) still leave in commit order, because each change locks
 * that row before writing its event: the later change's event row is created after the earlier
 * one committed, so it has the higher id and is never visible without it. Across rows there is no order.
 *
 * Every service's migrations create the same table:
 *   outbox(id bigserial primary key, event_id uuid, subject text, payload bytea, created_at timestamptz)
 */
/** The NOTIFY channel that wakes the relay as soon as an event commits. */
const OUTBOX_CHANNEL = "outbox";
/** Only one relay per database publishes at a time, which keeps the order; the others stand by. */
const RELAY_LOCK_KEY = 0x0f_a4_fa_4e;
/** Rows published per transaction: large enough for throughput, small enough to hold the lock briefly. */
const BATCH_SIZE = 200;
/** Safety net when a NOTIFY is missed (relay restarted, connection lost): look anyway this often. */
const POLL_INTERVAL_MS = 1_000;
/** Wait before trying again after NATS or PostgreSQL failed. */
const RETRY_DELAY_MS = 1_000;
/** JetStream must acknowledge a publish within this, else NATS counts as down for this round. */
const PUBLISH_TIMEOUT_MS = 3_000;

const published = counter("outbox_published_total", "Outbox events published to JetStream", ["subject"]);
const publishFailures = counter("outbox_publish_failures_total", "Outbox relay rounds that failed and will retry");
const backlog = gauge("outbox_backlog", "Outbox rows waiting to be published at the last relay round");

export interface OutboxEvent {
  subject: string;
  /** Encodes the payload; it receives the new event's id, which payloads carry too. */
  encode: (eventId: string) => Uint8Array;
}

/**
 * The row and the relay's wake-up in one statement (pg_notify, like NOTIFY, is delivered at commit):
 * each statement of a write is one more round trip to the leader before the caller hears back.
 */
const ENQUEUE_EVENT = `WITH queued AS (INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3) RETURNING id)
  SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM queued`;

/** Records an event in the caller's transaction; returns its id. */
export async function enqueueEvent(client: PoolClient, event: OutboxEvent): Promise<string> {
  const eventId = randomUUID();
  await client.query(ENQUEUE_EVENT, [eventId, event.subject, Buffer.from(event.encode(eventId))]);
  return eventId;
}

export interface OutboxRelay {
  /** Publishes what is pending now; resolves when the outbox was empty or another relay holds the lock. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function startOutboxRelay(options: {
  pool: Pool;
  connectionString: string;
  server: string;
  nats: NatsConnection;
  logger: Logger;
}): OutboxRelay {
  const { pool, logger } = options;
  const js = options.nats.jetstream();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let rerun = false;
  let timer: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;

  const drain = async () => {
    while (!stopped) {
      const outcome = await publishBatch(pool, js, options.server).catch((error: unknown) => {
        publishFailures.inc();
        logger.warn({ err: error }, "outbox relay round failed; retrying");
        return "failed" as const;
      });
      if (outcome === "failed") return schedule(RETRY_DELAY_MS);
      if (outcome !== "more") return;
    }
  };
  const kick = (): Promise<void> => {
    if (stopped) return running;
    rerun = true;
    running = running.then(async () => {
      if (!rerun) return;
      rerun = false;
      await drain();
    });
    return running;
  };
  const schedule = (delay: number) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void kick(), delay);
  };
  const poll = setInterval(() => void kick(), POLL_INTERVAL_MS);

  const listen = async () => {
    try {
      listener = new pg.Client({ connectionString: options.connectionString });
      listener.on("error", () => undefined);
      listener.on("end", () => {
        if (!stopped) setTimeout(() => void listen(), RETRY_DELAY_MS);
      });
      listener.on("notification", () => void kick());
      await listener.connect();
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      logger.warn({ err: error }, "outbox relay cannot LISTEN; polling only until it can");
    }
  };
  void listen();
  void kick();

  return {
    flush: () => kick(),
    stop: async () => {
      stopped = true;
      clearInterval(poll);
      clearTimeout(timer);
      await running;
      await listener?.end().catch(() => undefined);
    },
  };
}

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  payload: Buffer;
}

/** The claim's answer: a row per outbox row taken (one of nulls when none was), each with the lock's outcome and the WAL position. */
type ClaimedRow = { locked: boolean; lsn: string } & (OutboxRow | { [column in keyof OutboxRow]: null });

/**
 * BEGIN, the relay lock, the WAL position and the oldest rows, in one round trip (the lock and the
 * batch size are constants, so they can stand in a simple-protocol query): these waits came
 * between an event's commit and its publish. The rows are read only when the lock was taken; the
 * position is read after the statement's snapshot, so it is at or past every row's commit.
 */
const CLAIM_BATCH = `BEGIN;
WITH relay AS (SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) AS locked)
SELECT relay.locked, pg_current_wal_lsn()::text AS lsn, pending.*
  FROM relay LEFT JOIN LATERAL (
    SELECT id, event_id, subject, payload FROM outbox WHERE relay.locked ORDER BY id LIMIT ${BATCH_SIZE}
  ) AS pending ON true`;
/** The backlog gauge's count and the COMMIT, in one round trip. */
const COUNT_AND_COMMIT = "SELECT count(*) AS n FROM outbox; COMMIT";

/**
 * One transaction: take the relay lock, publish the oldest rows in order, delete those published.
 * Each event carries the leader's WAL position (at or past its commit), so a consumer's reads can
 * insist on a replica that has replayed the change the event describes.
 */
async function publishBatch(pool: Pool, js: JetStreamClient, server: string): Promise<"empty" | "more" | "locked"> {
  const client = await pool.connect();
  try {
    const [, claimed] = await queryStatements<[pg.QueryResultRow, ClaimedRow]>(client, CLAIM_BATCH);
    const head = claimed.rows[0]!;
    if (!head.locked) {
      await client.query("ROLLBACK");
      return "locked";
    }
    const rows = claimed.rows.filter((row): row is ClaimedRow & OutboxRow => row.id !== null);
    if (rows.length === 0) {
      await client.query("COMMIT");
      backlog.set(0);
      return "empty";
    }
    const headers = natsHeaders();
    headers.set(EVENT_LSN_HEADER, encodeLsns({ [server]: head.lsn }));
    const acknowledged: string[] = [];
    try {
      for (const row of rows) {
        await js.publish(row.subject, row.payload, { msgID: row.event_id, timeout: PUBLISH_TIMEOUT_MS, headers });
        published.inc({ subject: row.subject });
        acknowledged.push(row.id);
      }
    } finally {
      // Exactly the acknowledged rows leave, even when a later publish failed. Never "id <= last": a
      // lower id that committed after the SELECT is visible to a later statement and was not published.
      if (acknowledged.length > 0) await client.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [acknowledged]);
      const [left] = await queryStatements<[{ n: string }, pg.QueryResultRow]>(client, COUNT_AND_COMMIT);
      backlog.set(Number(left.rows[0]?.n ?? 0));
    }
    return rows.length === BATCH_SIZE ? "more" : "empty";
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
