import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { currentRequestContext } from "@fanfare/runtime/observability";
import { InvalidToken, type Tokens } from "../auth.js";
import type { RecentWrites } from "./recent-writes.js";
import { unauthorized } from "./problems.js";

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/**
 * Reads the bearer token; the user id lands in res.locals.userId and the request context, with the
 * WAL positions of the user's recent writes. Missing, forged, tampered or expired: 401.
 */
export function authenticate(tokens: Tokens, recentWrites: RecentWrites): RequestHandler {
  return async (req, res, next) => {
    res.locals.userId = await authenticatedUser(req, tokens, recentWrites);
    next();
  };
}

/** The user a request's bearer token names, attached to the request context; 401 otherwise. */
export async function authenticatedUser(req: IncomingMessage, tokens: Tokens, recentWrites: RecentWrites): Promise<string> {
  const token = bearerToken(req);
  if (!token) throw unauthorized("a bearer token is required (Authorization: Bearer <token> from /login)");
  let userId: string;
  try {
    userId = await tokens.verify(token);
  } catch (error) {
    if (error instanceof InvalidToken) throw unauthorized(error.message);
    throw error;
  }
  const context = currentRequestContext();
  if (context) {
    context.userId = userId;
    context.minLsn = await recentWrites.positionsOf(userId);
  }
  return userId;
}

/**
 * For public routes: a valid bearer token, when sent, still attaches the user's recent writes, so
 * an author reading their own post or profile right after changing it sees the change. An invalid
 * token is ignored here (the route needs none).
 */
export function identifyIfPossible(tokens: Tokens, recentWrites: RecentWrites): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    const context = currentRequestContext();
    if (token && context) {
      const userId = await tokens.verify(token).catch(() => undefined);
      if (userId) {
        context.userId = userId;
        context.minLsn = await recentWrites.positionsOf(userId);
      }
    }
    next();
  };
}

export function bearerToken(req: IncomingMessage): string | undefined {
  return BEARER.exec(req.headers.authorization ?? "")?.[1];
}

export function currentUserId(res: { locals: Record<string, unknown> }): string {
  return res.locals.userId as string;
}
