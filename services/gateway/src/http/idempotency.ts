import type { RequestHandler } from "express";
import { currentRequestContext } from "@fanfare/runtime/observability";
import { badRequest } from "./problems.js";

/** The header a client sends on a writing request it may retry (IETF draft "The Idempotency-Key HTTP Header Field"). */
export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Visible ASCII, 1..255: room for a UUID or a client's own scheme, never a log-flooding blob. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Passes a client's Idempotency-Key to the owning service, scoped to the caller (the authenticated
 * user, or "anonymous" for registration), so two clients' keys never meet. Runs after authentication.
 */
export const idempotencyKey: RequestHandler = (req, _res, next) => {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return next();
  if (!KEY_PATTERN.test(key)) return next(badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters"));
  const context = currentRequestContext();
  if (context) context.idempotencyKey = `${context.userId ?? "anonymous"}:${key}`;
  next();
};
