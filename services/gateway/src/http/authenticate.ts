import type { Request, RequestHandler } from "express";
import { InvalidToken, type Tokens } from "../auth.js";
import { unauthorized } from "./problems.js";

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/** Reads the bearer token; the user id lands in res.locals.userId. Missing, forged, tampered or expired: 401. */
export function authenticate(tokens: Tokens): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req);
    if (!token) throw unauthorized("a bearer token is required (Authorization: Bearer <token> from /login)");
    try {
      res.locals.userId = await tokens.verify(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw unauthorized(error.message);
      throw error;
    }
    next();
  };
}

export function bearerToken(req: Request): string | undefined {
  return BEARER.exec(req.headers.authorization ?? "")?.[1];
}

export function currentUserId(res: { locals: Record<string, unknown> }): string {
  return res.locals.userId as string;
}
