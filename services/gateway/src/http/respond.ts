import type { ServerResponse } from "node:http";

/**
 * Every JSON answer: serialised once, sent with its length. Express's res.json did the same plus a
 * MIME lookup, charset handling and a freshness check per request, a tenth of the gateway's CPU on
 * the feed route in profiles.
 */
export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  sendSerialisedJson(res, JSON.stringify(body), status);
}

/** An answer already serialised as JSON, as text or its UTF-8 bytes. */
export function sendSerialisedJson(res: ServerResponse, text: string | Buffer, status = 200): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}
