import { posts, socialgraph } from "@fanfare/contracts";
import { closeAll, createGrpcClient, createLogger, startGrpcServer, startMetricsServer, type Logger } from "@fanfare/runtime";
import type { FeedConfig } from "./config.js";
import { FeedReader } from "./domain/feed-reader.js";
import { feedBinding } from "./entry-points/grpc-handlers.js";

export interface RunningFeed {
  port: number;
  metricsPort: number;
  logger: Logger;
  stop(): Promise<void>;
}

/** config -> clients -> domain -> handlers -> server. */
export async function startFeed(config: FeedConfig): Promise<RunningFeed> {
  const logger = createLogger("feed", config.LOG_LEVEL);
  const socialGraph = createGrpcClient(socialgraph.SocialGraphServiceClient, config.SOCIAL_GRAPH_ADDR);
  const postsClient = createGrpcClient(posts.PostsServiceClient, config.POSTS_ADDR);

  const reader = new FeedReader(socialGraph, postsClient);
  const server = await startGrpcServer({ bindings: [feedBinding(reader)], host: config.GRPC_HOST, port: config.GRPC_PORT, logger });
  const metrics = await startMetricsServer(config.METRICS_PORT);
  server.setServing(true);

  return {
    port: server.port,
    metricsPort: metrics.port,
    logger,
    stop: () =>
      closeAll(
        [
          { name: "health", close: () => server.setServing(false) },
          { name: "grpc", close: () => server.shutdown(config.SHUTDOWN_DEADLINE_MS) },
          { name: "metrics", close: () => metrics.close() },
          { name: "clients", close: () => [socialGraph, postsClient].forEach((client) => client.close()) },
        ],
        logger,
      ),
  };
}
export { loadFeedConfig } from "./config.js";
