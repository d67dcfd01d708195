import { posts, socialgraph } from "@fanfare/contracts";
import { closeAll } from "@fanfare/runtime";
import { createLogger, type Logger } from "@fanfare/runtime/observability";
import { createGrpcClient, serveGrpc } from "@fanfare/runtime/grpc";
import { connectNats, drainNats } from "@fanfare/runtime/events";
import type { FeedConfig } from "./config.js";
import { FanoutProgressStore } from "./data-access/fanout-progress.js";
import { openFeedCache, type FeedCacheStores } from "./data-access/feed-cache.js";
import { closeRedis, createRedis, ensureCompactEncoding, redisReady, type FeedRedis } from "./data-access/redis-client.js";
import { CelebrityDirectory } from "./domain/celebrity-directory.js";
import { FanOut } from "./domain/fan-out.js";
import { FeedReader } from "./domain/feed-reader.js";
import { LivePresence } from "./domain/live-presence.js";
import { Reconciler } from "./domain/reconciler.js";
import { TimelineAuditor } from "./domain/timeline-audit.js";
import { TimelineBuilder } from "./domain/timeline-builder.js";
import { followCelebrityChanges, startEventConsumers } from "./entry-points/event-consumers.js";
import { feedBinding } from "./entry-points/grpc-handlers.js";
import { jetStreamFanoutQueue } from "./outbound/chunk-queue.js";
import { natsLiveNotifier } from "./outbound/live-notifier.js";
import { SourceOfTruth } from "./outbound/source-of-truth.js";

/** Safety net for missed celebrity events: the list is re-read from social-graph this often. */
const CELEBRITY_REFRESH_MS = 30_000;

export interface RunningFeed {
  port: number;
  metricsPort: number;
  logger: Logger;
  cache: FeedCacheStores;
  redis: FeedRedis;
  reconciler: Reconciler;
  celebrities: CelebrityDirectory;
  stop(): Promise<void>;
}

/** config -> clients -> repositories -> domain -> handlers (gRPC, events) -> server. */
export async function startFeed(config: FeedConfig): Promise<RunningFeed> {
  const logger = createLogger("feed", config.LOG_LEVEL);
  const socialGraph = createGrpcClient(socialgraph.SocialGraphServiceClient, config.SOCIAL_GRAPH_ADDR);
  const postsClient = createGrpcClient(posts.PostsServiceClient, config.POSTS_ADDR);
  const redisTarget = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, keyPrefix: config.REDIS_KEY_PREFIX };
  const redis = createRedis(redisTarget);
  // Fan-out's script runs go on a connection of their own: on the readers' connection a read would
  // wait in the socket behind every script of a chunk queued before it.
  const fanOutRedis = createRedis(redisTarget);
  const nats = await connectNats(config.NATS_URL, "feed", logger, config.NATS_STREAM_REPLICAS);

  await Promise.all([redisReady(redis), redisReady(fanOutRedis)]);
  await ensureCompactEncoding(redis, config.FEED_MAX_ITEMS, logger);
  const cache = openFeedCache({ reads: redis, fanOut: fanOutRedis }, config.FEED_MAX_ITEMS, config.FEED_ACTIVE_DAYS * 24 * 3600);
  const progress = new FanoutProgressStore(redis);
  const source = new SourceOfTruth(socialGraph, postsClient);
  const celebrities = new CelebrityDirectory(source, logger);
  const builder = new TimelineBuilder(cache, source, config.FEED_MAX_ITEMS);
  const fanOut = new FanOut(
    cache,
    source,
    builder,
    celebrities,
    progress,
    jetStreamFanoutQueue(nats, config.FEED_CONSUMER_PREFIX),
    natsLiveNotifier(nats),
    {
      maxItems: config.FEED_MAX_ITEMS,
      chunkSize: config.FANOUT_CHUNK_SIZE,
      chunkPauseMs: config.FANOUT_CHUNK_PAUSE_MS,
    },
  );
  const reader = new FeedReader(cache, builder, source, celebrities);
  const reconciler = new Reconciler(cache, new TimelineAuditor(cache, source, config.FEED_MAX_ITEMS), builder, logger);

  const celebrityEvents = followCelebrityChanges(nats, celebrities);
  const celebrityRefresh = celebrities.startRefreshing(CELEBRITY_REFRESH_MS);
  const consumers = await startEventConsumers(fanOut, config.FEED_ROLE, {
    nats,
    prefix: config.FEED_CONSUMER_PREFIX,
    concurrency: config.FEED_EVENT_CONCURRENCY,
    fanoutConcurrency: config.FANOUT_CONCURRENCY,
    fanoutAckWaitMs: config.FANOUT_ACK_WAIT_MS,
    logger,
  });
  const resync =
    config.FEED_ROLE.events && config.FEED_SYNC_INTERVAL_MS > 0
      ? reconciler.start(config.FEED_SYNC_INTERVAL_MS, config.FEED_SYNC_RATE)
      : undefined;
  const grpc = await serveGrpc([feedBinding(reader, progress, new LivePresence(cache), logger)], config, logger);

  return {
    port: grpc.port,
    metricsPort: grpc.metricsPort,
    logger,
    cache,
    redis,
    reconciler,
    celebrities,
    stop: () =>
      closeAll(
        [
          ...grpc.drainSteps,
          { name: "event consumers", close: async () => void (await Promise.all(consumers.map((consumer) => consumer.stop()))) },
          { name: "reconciler", close: () => resync?.stop() },
          { name: "celebrity list", close: () => [celebrityEvents, celebrityRefresh].forEach((task) => task.stop()) },
          { name: "nats", close: () => drainNats(nats) },
          grpc.metricsStep,
          { name: "redis", close: async () => void (await Promise.all([redis, fanOutRedis].map(closeRedis))) },
          { name: "clients", close: () => [socialGraph, postsClient].forEach((client) => client.close()) },
        ],
        logger,
      ),
  };
}

export { loadFeedConfig, feedEnv } from "./config.js";
export { openFeedAudit, type FeedAudit } from "./audit.js";
export type { AuditReport, TimelineDrift } from "./domain/timeline-audit.js";
