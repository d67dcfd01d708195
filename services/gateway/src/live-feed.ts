import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { NatsConnection, Subscription } from "nats";
import { WebSocketServer, type WebSocket } from "ws";
import { counter, gauge, liveFeedSubject, newRequestId, type Logger } from "@fanfare/runtime";
import { InvalidToken, type Tokens } from "./auth.js";

/** The AsyncAPI channel, under every API prefix. */
const CHANNEL = /^(?:\/api\/v[12])?\/post\/feed\/posted\/?$/;
/** Ping period: proxies drop idle connections after a minute or so, and dead peers are found. */
const PING_INTERVAL_MS = 30_000;
/** A client this far behind is dropped rather than allowed to grow the gateway's memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Clients only listen on this channel; anything they send is small or abuse. */
const MAX_INCOMING_BYTES = 4 * 1024;

const connections = gauge("gateway_live_connections", "Open /post/feed/posted WebSocket connections");
const pushed = counter("gateway_live_messages_total", "Posts pushed to WebSocket clients, by outcome", ["outcome"]);

/**
 * GET /post/feed/posted upgraded to a WebSocket: a user's connection receives {postId, postText,
 * author_user_id} whenever a post lands in their timeline. The token comes from the Authorization
 * header or, for browsers, ?token=; without a valid one the upgrade is refused with 401. Each
 * gateway subscribes to feed.live.<user> only for the users connected to it.
 */
export function attachLiveFeed(server: Server, options: { tokens: Tokens; nats: NatsConnection; logger: Logger }): { close: () => void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_INCOMING_BYTES });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!CHANNEL.test(url.pathname)) return refuse(socket, 404, "no WebSocket channel here; use /post/feed/posted");
    authenticateUpgrade(req, url, options.tokens).then(
      (userId) => wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ws, userId, options)),
      () => refuse(socket, 401, "a valid bearer token is required (Authorization header or ?token=)"),
    );
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      const alive = ws as WebSocket & { isAlive?: boolean };
      if (alive.isAlive === false) {
        ws.terminate();
        continue;
      }
      alive.isAlive = false;
      ws.ping();
    }
  }, PING_INTERVAL_MS);

  return {
    close: () => {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, "server shutting down");
      wss.close();
    },
  };
}

async function authenticateUpgrade(req: IncomingMessage, url: URL, tokens: Tokens): Promise<string> {
  const header = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  const token = header ?? url.searchParams.get("token");
  if (!token) throw new InvalidToken("no token");
  return tokens.verify(token);
}

function serveConnection(ws: WebSocket, userId: string, options: { nats: NatsConnection; logger: Logger }): void {
  const alive = ws as WebSocket & { isAlive?: boolean };
  alive.isAlive = true;
  ws.on("pong", () => (alive.isAlive = true));
  connections.inc();
  const subscription: Subscription = options.nats.subscribe(liveFeedSubject(userId), {
    callback: (error, message) => {
      if (error || ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        pushed.inc({ outcome: "dropped_slow_client" });
        options.logger.warn({ userId, buffered: ws.bufferedAmount }, "dropping slow WebSocket client");
        ws.terminate();
        return;
      }
      ws.send(message.string());
      pushed.inc({ outcome: "sent" });
    },
  });
  ws.on("message", () => undefined);
  ws.on("error", () => ws.terminate());
  ws.on("close", () => {
    subscription.unsubscribe();
    connections.dec();
  });
}

function refuse(socket: Duplex, status: 401 | 404, message: string): void {
  const body = JSON.stringify({ message, request_id: newRequestId(), code: status });
  const reason = status === 401 ? "Unauthorized" : "Not Found";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
