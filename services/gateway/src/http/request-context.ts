import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, RequestHandler } from "express";
import {
  counter,
  histogram,
  LATENCY_BUCKETS,
  newRequestId,
  REQUEST_ID_KEY,
  type RequestContext,
  runWithRequestContext,
  sanitizeRequestId,
} from "@fanfare/runtime/observability";
import type { RecentWrites } from "./recent-writes.js";

const httpRequests = counter("http_requests_total", "HTTP requests answered, by route and status", ["route", "status"]);
const httpDuration = histogram("http_request_duration_seconds", "HTTP request latency", ["route"], LATENCY_BUCKETS);

/**
 * What every request gets first, whichever way it is routed: an id (the caller's X-Request-Id when
 * sane), echoed; timing and counting under its route (`routeOf`, asked once it is answered); and
 * read-your-writes bookkeeping for an authenticated user's writes. The caller runs the rest of the
 * request in the returned context.
 */
export function beginRequest(req: IncomingMessage, res: ServerResponse, recentWrites: RecentWrites, routeOf: () => string): RequestContext {
  const requestId = sanitizeRequestId(req.headers[REQUEST_ID_KEY]) ?? newRequestId();
  const context: RequestContext = { requestId };
  res.setHeader(REQUEST_ID_KEY, requestId);
  const stopTimer = httpDuration.startTimer();
  rememberWritesBeforeAnswering(res, context, recentWrites);
  res.on("finish", () => {
    const route = routeOf();
    stopTimer({ route });
    httpRequests.inc({ route, status: String(res.statusCode) });
  });
  return context;
}

/** beginRequest as Express middleware, the route named by Express's match. */
export function requestContext(recentWrites: RecentWrites): RequestHandler {
  return (req, res, next) => {
    const context = beginRequest(req, res, recentWrites, () => matchedRoute(req));
    runWithRequestContext(context, () => next());
  };
}

function matchedRoute(req: Request): string {
  const routePath = (req.route as { path?: string } | undefined)?.path;
  return routePath ? `${req.baseUrl}${routePath}` : "unmatched";
}

/**
 * Read-your-writes across gateways: a write's positions are kept (and shared with the other gateways)
 * before its answer leaves, so the user's next request, through any gateway, reads after them.
 */
function rememberWritesBeforeAnswering(res: ServerResponse, context: RequestContext, recentWrites: RecentWrites): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    if (!context.userId || !context.writtenLsn) return end(...args);
    // The answer goes out in any case; remember() logs a NATS failure itself and does not reject.
    const answer = () => end(...args);
    void recentWrites.remember(context.userId, context.writtenLsn).then(answer, answer);
    return res;
  }) as ServerResponse["end"];
}
