import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express } from "express";
import { feed, health, posts, socialgraph } from "@fanfare/contracts";
import { closeAll } from "@fanfare/runtime";
import { createLogger, type Logger } from "@fanfare/runtime/observability";
import { createGrpcClient } from "@fanfare/runtime/grpc";
import { connectNats, drainNats } from "@fanfare/runtime/events";
import { Tokens } from "./auth.js";
import type { GatewayConfig } from "./config.js";
import { errorHandler, notFoundRoute } from "./http/problems.js";
import { RecentWrites } from "./http/recent-writes.js";
import { requestContext } from "./http/request-context.js";
import { FeedReads } from "./feed-reads.js";
import { FeedPagesClient } from "./feed-wire.js";
import { feedRoute } from "./routes/feed-route.js";
import { GatewayPeers } from "./gateway-peers.js";
import { attachLiveFeed } from "./live-feed.js";
import { buildOpenApiSpec } from "./openapi.js";
import { API_PREFIXES, apiRouter, type Downstreams } from "./routes/api.js";
import { opsRouter } from "./routes/ops.js";

export function createApp(options: {
  downstreams: Downstreams;
  feedReads: FeedReads;
  health: Record<string, ReturnType<typeof healthClient>>;
  tokens: Tokens;
  recentWrites: RecentWrites;
  bodyLimitBytes: number;
  logger: Logger;
}): Express {
  const app = express();
  const { recentWrites } = options;
  app.disable("x-powered-by");
  // Feeds change with every post, so a conditional GET would rarely answer 304; the ETag cost a SHA-1
  // of every response body (2% of the gateway's CPU under read load).
  app.set("etag", false);
  app.set("trust proxy", false);
  app.use(requestContext(recentWrites));
  app.use(express.json({ limit: options.bodyLimitBytes, strict: false }));
  app.use(opsRouter({ spec: buildOpenApiSpec(), downstreamHealth: options.health }));
  const api = apiRouter(options.downstreams, options.feedReads, options.tokens, recentWrites);
  for (const prefix of API_PREFIXES) app.use(prefix, api);
  app.use(notFoundRoute);
  app.use(errorHandler(options.logger));
  return app;
}

function healthClient(address: string) {
  return createGrpcClient(health.HealthClient, address);
}

export interface RunningGateway {
  port: number;
  server: Server;
  logger: Logger;
  stop(): Promise<void>;
}

/** config -> clients -> app -> HTTP server. */
export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const logger = createLogger("gateway", config.LOG_LEVEL);
  const downstreams: Downstreams = {
    socialGraph: createGrpcClient(socialgraph.SocialGraphServiceClient, config.SOCIAL_GRAPH_ADDR),
    posts: createGrpcClient(posts.PostsServiceClient, config.POSTS_ADDR),
    feed: createGrpcClient(feed.FeedServiceClient, config.FEED_ADDR),
  };
  const healthClients = {
    "social-graph": healthClient(config.SOCIAL_GRAPH_ADDR),
    posts: healthClient(config.POSTS_ADDR),
    feed: healthClient(config.FEED_ADDR),
  };
  const tokens = new Tokens(config.JWT_SECRET, config.TOKEN_TTL_SECONDS);
  const nats = await connectNats(config.NATS_URL, "gateway", logger);
  const peers = new GatewayPeers(nats, (userId, lsns) => recentWrites.merge(userId, lsns), logger);
  const recentWrites = new RecentWrites(peers);
  const feedPages = createGrpcClient(FeedPagesClient, config.FEED_ADDR);
  const feedReads = new FeedReads(feedPages);
  const app = createApp({
    downstreams,
    feedReads,
    health: healthClients,
    tokens,
    recentWrites,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    logger,
  });
  const hotFeedRoute = feedRoute({ feedReads, tokens, recentWrites, logger });

  const server = createServer((req, res) => hotFeedRoute(req, res) || void app(req, res));
  const liveFeed = attachLiveFeed(server, { tokens, nats, feed: downstreams.feed, logger });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(config.GATEWAY_PORT, config.GATEWAY_HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, "gateway listening");

  return {
    port,
    server,
    logger,
    stop: () =>
      closeAll(
        [
          { name: "websockets", close: () => liveFeed.close() },
          { name: "http", close: () => closeHttpServer(server, config.SHUTDOWN_DEADLINE_MS) },
          { name: "gateway peers", close: () => peers.stop() },
          { name: "nats", close: () => drainNats(nats) },
          {
            name: "clients",
            close: () => {
              for (const client of [downstreams.socialGraph, downstreams.posts, downstreams.feed, feedPages]) client.close();
              for (const client of Object.values(healthClients)) client.close();
            },
          },
        ],
        logger,
      ),
  };
}

/** Stops accepting connections, lets in-flight requests finish until the deadline, then drops the rest. */
function closeHttpServer(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cutOff = setTimeout(() => server.closeAllConnections(), deadlineMs);
    server.close(() => {
      clearTimeout(cutOff);
      resolve();
    });
    server.closeIdleConnections();
  });
}
export { loadGatewayConfig, gatewayEnv } from "./config.js";
