import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { NatsConnection, Subscription } from "nats";
import { WebSocketServer, type WebSocket } from "ws";
import type { feed } from "@fanfare/contracts";
import { counter, gauge, type Logger, newRequestId } from "@fanfare/runtime/observability";
import type { PromiseClient } from "@fanfare/runtime/grpc";
import { liveFeedSubject } from "@fanfare/runtime/events";
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

/** Users per MarkConnected call when renewing (the feed takes up to 10 000). */
const RENEW_BATCH = 1_000;
/** Renewal period until the feed has said how long its marks last. */
const FIRST_RENEW_MS = 10_000;

type Options = { tokens: Tokens; nats: NatsConnection; feed: PromiseClient<feed.FeedServiceClient>; logger: Logger };

/**
 * GET /post/feed/posted upgraded to a WebSocket: a user's connection receives {postId, postText,
 * author_user_id} for every new post of the people they follow. The token comes from the
 * Authorization header or, for browsers, ?token=; without a valid one the upgrade is refused with
 * 401. Before the socket opens, the gateway subscribes to feed.live.<user> and has the feed mark
 * the user connected (renewed while any of their sockets is open), so the first post after "open"
 * already arrives, whether or not the user's timeline is cached.
 */
export function attachLiveFeed(server: Server, options: Options): { close: () => void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_INCOMING_BYTES });
  const users = new ConnectedUsers(options);

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!CHANNEL.test(url.pathname)) return refuse(socket, 404, "no WebSocket channel here; use /post/feed/posted");
    authenticateUpgrade(req, url, options.tokens)
      .then(
        async (userId) => {
          await users.expect(userId);
          let opened = false;
          wss.handleUpgrade(req, socket, head, (ws) => {
            opened = true;
            users.attach(userId, ws);
          });
          // ws answers a malformed upgrade, or drops a socket that closed meanwhile, without calling back.
          if (!opened) users.release(userId);
        },
        () => refuse(socket, 401, "a valid bearer token is required (Authorization header or ?token=)"),
      )
      .catch((error: unknown) => {
        options.logger.error({ err: error }, "live feed upgrade failed");
        socket.destroy();
      });
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
      users.close();
      for (const ws of wss.clients) ws.close(1001, "server shutting down");
      wss.close();
    },
  };
}

/** One user's sockets on this gateway and their one subscription (so each socket gets each push once). */
interface ConnectedUser {
  sockets: Set<WebSocket>;
  /** Upgrades authenticated but not yet opened: the subscription must outlive them too. */
  opening: number;
  subscription: Subscription;
}

/** The users connected to this gateway: their NATS subscriptions and their connected marks in the feed. */
class ConnectedUsers {
  private readonly users = new Map<string, ConnectedUser>();
  private renewal: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: Options) {
    this.scheduleRenewal(FIRST_RENEW_MS);
  }

  /** Before a user's socket opens: subscribed (confirmed by the server) and marked connected. */
  async expect(userId: string): Promise<void> {
    const user = this.users.get(userId) ?? this.subscribe(userId);
    user.opening++;
    try {
      await this.options.nats.flush();
    } catch (error) {
      this.options.logger.warn({ err: error }, "NATS did not confirm a live feed subscription; pushes may start late");
    }
    await this.markConnected([userId]);
  }

  attach(userId: string, ws: WebSocket): void {
    const user = this.users.get(userId)!;
    user.opening--;
    user.sockets.add(ws);
    connections.inc();
    const alive = ws as WebSocket & { isAlive?: boolean };
    alive.isAlive = true;
    ws.on("pong", () => (alive.isAlive = true));
    ws.on("message", () => undefined);
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      user.sockets.delete(ws);
      connections.dec();
      this.forgetIfIdle(userId, user);
    });
  }

  /** An expected socket that never opened. */
  release(userId: string): void {
    const user = this.users.get(userId);
    if (!user) return;
    user.opening--;
    this.forgetIfIdle(userId, user);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.renewal);
  }

  private subscribe(userId: string): ConnectedUser {
    const sockets = new Set<WebSocket>();
    const subscription = this.options.nats.subscribe(liveFeedSubject(userId), {
      callback: (error, message) => {
        if (error) return;
        const text = message.string();
        for (const ws of sockets) this.push(ws, userId, text);
      },
    });
    const user: ConnectedUser = { sockets, opening: 0, subscription };
    this.users.set(userId, user);
    return user;
  }

  private push(ws: WebSocket, userId: string, text: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      pushed.inc({ outcome: "dropped_slow_client" });
      this.options.logger.warn({ userId, buffered: ws.bufferedAmount }, "dropping slow WebSocket client");
      ws.terminate();
      return;
    }
    ws.send(text);
    pushed.inc({ outcome: "sent" });
  }

  /** The mark simply expires: another gateway may hold a socket of the same user. */
  private forgetIfIdle(userId: string, user: ConnectedUser): void {
    if (user.sockets.size > 0 || user.opening > 0 || this.users.get(userId) !== user) return;
    user.subscription.unsubscribe();
    this.users.delete(userId);
  }

  /** Marks users connected; a failure is logged and the next renewal (a few seconds on) tries again. */
  private async markConnected(userIds: string[]): Promise<number | undefined> {
    try {
      return (await this.options.feed.markConnected({ userIds })).validForMs;
    } catch (error) {
      this.options.logger.warn(
        { err: error, users: userIds.length },
        "could not mark users connected; live pushes may pause until the next renewal",
      );
      return undefined;
    }
  }

  private scheduleRenewal(delayMs: number): void {
    if (this.closed) return;
    this.renewal = setTimeout(() => void this.renew(), delayMs);
    this.renewal.unref();
  }

  private async renew(): Promise<void> {
    const userIds = [...this.users.keys()];
    let validForMs: number | undefined;
    for (let i = 0; i < userIds.length; i += RENEW_BATCH)
      validForMs = (await this.markConnected(userIds.slice(i, i + RENEW_BATCH))) ?? validForMs;
    // A third of the mark's life: one failed renewal still leaves time for the next.
    this.scheduleRenewal(validForMs ? Math.floor(validForMs / 3) : FIRST_RENEW_MS);
  }
}

async function authenticateUpgrade(req: IncomingMessage, url: URL, tokens: Tokens): Promise<string> {
  const header = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  const token = header ?? url.searchParams.get("token");
  if (!token) throw new InvalidToken("no token");
  return tokens.verify(token);
}

function refuse(socket: Duplex, status: 401 | 404, message: string): void {
  const body = JSON.stringify({ message, request_id: newRequestId(), code: status });
  const reason = status === 401 ? "Unauthorized" : "Not Found";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
