import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { pino, type Logger } from "pino";

/** What is known about the call being served; carried across awaits by AsyncLocalStorage. */
/**
 * WAL positions by PostgreSQL leader ("host:port"). Positions of one server are comparable across
 * its databases: a follow committed before a post on the same server has the smaller position.
 */
export type LsnByDatabase = Record<string, string>;

export interface RequestContext {
  requestId: string;
  /** Reads in this call must see at least these WAL positions (the caller's recent writes). */
  minLsn?: LsnByDatabase;
  /** WAL positions of the writes this call made, reported back to the caller. */
  writtenLsn?: LsnByDatabase;
  /** The authenticated user, at the gateway. */
  userId?: string;
  /**
   * Reads in this call must see every commit made before the call began, not just the caller's own:
   * they go to the leader. Set by callers that copy the databases into a cache (the feed), where a
   * stale read would be written down and kept.
   */
  readLeader?: boolean;
  /** The client's Idempotency-Key, scoped to the caller (see idempotency.ts). */
  idempotencyKey?: string;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** The gRPC metadata key and HTTP header that carry the request id through the mesh. */
export const REQUEST_ID_KEY = "x-request-id";

export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return requestContext.run(context, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return requestContext.getStore();
}

export function newRequestId(): string {
  return randomUUID();
}

/** Accepts a caller's request id only when it is short and printable, so it cannot flood or forge log lines. */
export function sanitizeRequestId(value: unknown): string | undefined {
  return typeof value === "string" && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}

/** The one logger: JSON lines, each stamped with the current request id when there is one. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { service },
    mixin: () => {
      const context = requestContext.getStore();
      return context ? { request_id: context.requestId } : {};
    },
    redact: { paths: ["password", "*.password", "req.headers.authorization"], censor: "[redacted]" },
  });
}

export type { Logger };
