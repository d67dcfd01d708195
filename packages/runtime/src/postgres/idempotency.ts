import { createHash } from "node:crypto";
import type { DatabaseRouter } from "./db-router.js";
import { invalidArgument } from "../core/errors.js";
import { currentRequestContext, type Logger } from "../observability/logger.js";
import type { Pool, PoolClient } from "./pool.js";

/**
 * Retries that do not duplicate. A client that got no answer (a timeout, a 503 after its change had
 * committed) retries with the same `Idempotency-Key`; the gateway passes it on, scoped to the caller,
 * as gRPC metadata (IDEMPOTENCY_KEY). The owning service stores the first run's result in the same transaction
 * as its change, so a repeat answers that result and changes nothing, and a repeat arriving while
 * the first is still running waits for it on the key's unique index.
 *
 * Every service that takes such keys has the table (its migrations):
 *   idempotency_keys(key text, operation text, request_hash text, result text, created_at timestamptz,
 *                    PRIMARY KEY (key, operation))
 */
/** How long a key is remembered: client retries come within minutes; a day covers a client that slept on it. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;
/** How often expired keys are swept. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface ResultCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** JSON, with the rows' timestamp columns (`*_at`) back as Dates. */
export function jsonResult<T>(): ResultCodec<T> {
  return {
    encode: (value) => JSON.stringify(value ?? null),
    decode: (text) =>
      JSON.parse(text, (key, value: unknown) => (key.endsWith("_at") && typeof value === "string" ? new Date(value) : value)) as T,
  };
}

/**
 * `work` in a transaction on the leader, once per idempotency key of the current call: a repeat of the
 * same operation with the same key answers the stored result; the same key with a different request
 * is refused (INVALID_ARGUMENT). Without a key it is a plain transaction.
 */
export async function idempotentTransaction<T>(
  db: DatabaseRouter,
  operation: string,
  request: unknown,
  codec: ResultCodec<T>,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const key = currentRequestContext()?.idempotencyKey;
  if (!key) return db.transaction(work);
  const requestHash = createHash("sha256").update(JSON.stringify(request)).digest("base64url");
  return db.transaction(async (client) => {
    // A key older than the retention counts as new; a live one makes this a repeat.
    const claimed = await client.query(
      `INSERT INTO idempotency_keys (key, operation, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (key, operation) DO UPDATE SET request_hash = EXCLUDED.request_hash, result = NULL, created_at = now()
         WHERE idempotency_keys.created_at < now() - make_interval(hours => $4)
       RETURNING 1`,
      [key, operation, requestHash, IDEMPOTENCY_RETENTION_HOURS],
    );
    if (claimed.rowCount === 0) return storedResult(client, key, operation, requestHash, codec);
    const result = await work(client);
    await client.query("UPDATE idempotency_keys SET result = $3 WHERE key = $1 AND operation = $2", [key, operation, codec.encode(result)]);
    return result;
  });
}

async function storedResult<T>(client: PoolClient, key: string, operation: string, requestHash: string, codec: ResultCodec<T>): Promise<T> {
  const { rows } = await client.query<{ request_hash: string; result: string }>(
    "SELECT request_hash, result FROM idempotency_keys WHERE key = $1 AND operation = $2",
    [key, operation],
  );
  if (rows[0]!.request_hash !== requestHash) throw invalidArgument("this Idempotency-Key was already used for a different request");
  return codec.decode(rows[0]!.result);
}

/** Deletes keys past the retention every few minutes; returns the stopper. */
export function sweepIdempotencyKeys(pool: Pool, logger: Logger): { stop: () => void } {
  const timer = setInterval(() => {
    pool
      .query("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)", [IDEMPOTENCY_RETENTION_HOURS])
      .catch((error: unknown) => logger.warn({ err: error }, "idempotency key sweep failed"));
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
