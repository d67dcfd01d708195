import type { ServerResponse } from "node:http";
import type { ErrorRequestHandler, RequestHandler } from "express";
import { httpErrorFromGrpc, isGrpcError } from "@fanfare/runtime";
import { currentRequestContext, type Logger } from "@fanfare/runtime/observability";
import { sendJson } from "./respond.js";

/** An error meant for the HTTP client: its status and message are sent as they are. */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpProblem(400, message);
export const unauthorized = (message: string) => new HttpProblem(401, message, { "www-authenticate": 'Bearer realm="fanfare"' });

/** Every error response has this shape: {message, request_id, code}. */
export function sendProblem(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const requestId = currentRequestContext()?.requestId ?? String(res.getHeader("x-request-id") ?? "");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, { message, request_id: requestId, code: status }, status);
}

export const notFoundRoute: RequestHandler = (req, res) => sendProblem(res, 404, `no route for ${req.method} ${req.path}`);

/** Body-parser errors carry a 4xx status and a type; their messages are safe to show. */
interface BodyParserError {
  status?: number;
  type?: string;
}

/**
 * The gateway's one error handler: client problems keep their status, gRPC statuses go through
 * the runtime's mapping table, and anything else is logged and answered 500 without details.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => answerError(error, res, logger);
}

/** The error handler's answer, for routes served outside Express too (routes/feed-route.ts). */
export function answerError(error: unknown, res: ServerResponse, logger: Logger): void {
  if (res.headersSent) return;
  if (error instanceof HttpProblem) return sendProblem(res, error.status, error.message, error.headers);
  if (isGrpcError(error)) {
    const mapped = httpErrorFromGrpc(error);
    if (mapped.status >= 500) logger.warn({ err: error }, "downstream call failed");
    return sendProblem(res, mapped.status, mapped.message, mapped.retryAfter ? { "retry-after": String(mapped.retryAfter) } : {});
  }
  const parserError = error as BodyParserError;
  if (typeof parserError.status === "number" && parserError.status >= 400 && parserError.status < 500) {
    const message =
      error instanceof URIError || /decode param/i.test(String((error as Error).message))
        ? "malformed percent-encoding in the URL"
        : bodyParserMessage(parserError);
    return sendProblem(res, parserError.status, message);
  }
  logger.error({ err: error }, "unhandled error");
  sendProblem(res, 500, "internal error");
}

function bodyParserMessage(error: BodyParserError): string {
  switch (error.type) {
    case "entity.parse.failed":
      return "request body is not valid JSON";
    case "entity.too.large":
      return "request body is too large";
    case "encoding.unsupported":
    case "charset.unsupported":
      return "request body encoding is not supported";
    default:
      return "the request could not be read";
  }
}
