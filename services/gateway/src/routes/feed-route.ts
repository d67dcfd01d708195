import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQueryString } from "node:querystring";
import { runWithRequestContext, type Logger } from "@fanfare/runtime/observability";
import type { Tokens } from "../auth.js";
import type { FeedReads } from "../feed-reads.js";
import { authenticatedUser } from "../http/authenticate.js";
import { answerError } from "../http/problems.js";
import type { RecentWrites } from "../http/recent-writes.js";
import { beginRequest } from "../http/request-context.js";
import { API_PREFIXES, sendFeedPage } from "./api.js";

interface FeedRouteDeps {
  feedReads: FeedReads;
  tokens: Tokens;
  recentWrites: RecentWrites;
  logger: Logger;
}

/** The hot route's paths as clients spell them: the contract's and the original system's prefixed forms. */
const FEED_PATHS = new Set(API_PREFIXES.map((prefix) => `${prefix === "/" ? "" : prefix}/post/feed`));

/**
 * GET /post/feed, the route nearly all traffic takes, answered before Express: its router (every
 * layer of three mounted API routers tried in turn), query parser and body-parser check were a
 * third of the gateway's CPU per feed read in profiles, and this route needs none of them. It is
 * served by the same parts as the Express route (routes/api.ts): request context and metrics,
 * bearer authentication, the query schema, the one error handler's answers. Any other spelling
 * (a trailing slash, HEAD, other letter case) falls through to Express, which answers it alike.
 * Returns false when the request is not this route's.
 */
export function feedRoute(deps: FeedRouteDeps) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "GET") return false;
    const url = req.url ?? "";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (!FEED_PATHS.has(path)) return false;
    const context = beginRequest(req, res, deps.recentWrites, () => path);
    const query = queryAt === -1 ? {} : parseQueryString(url.slice(queryAt + 1));
    runWithRequestContext(context, () => void answer(req, res, query, deps));
    return true;
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, query: unknown, deps: FeedRouteDeps): Promise<void> {
  try {
    const userId = await authenticatedUser(req, deps.tokens, deps.recentWrites);
    await sendFeedPage(res, deps.feedReads, userId, query);
  } catch (error) {
    answerError(error, res, deps.logger);
  }
}
