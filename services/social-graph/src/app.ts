import { fileURLToPath } from "node:url";
import {
  closeAll,
  connectNats,
  createLogger,
  createPool,
  drainNats,
  ensureDatabase,
  ensureStream,
  migrate,
  startGrpcServer,
  startMetricsServer,
  startOutboxRelay,
  STREAMS,
  type Logger,
} from "@fanfare/runtime";
import type { SocialGraphConfig } from "./config.js";
import { FriendshipsRepository } from "./data-access/friendships-repository.js";
import { UsersRepository } from "./data-access/users-repository.js";
import { SocialGraph } from "./domain/social-graph.js";
import { socialGraphBinding } from "./entry-points/grpc-handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

export interface RunningSocialGraph {
  port: number;
  metricsPort: number;
  logger: Logger;
  /** Publishes pending outbox events now (tests use it to avoid waiting for the relay's poll). */
  flushOutbox(): Promise<void>;
  stop(): Promise<void>;
}

/** config -> clients -> repositories -> domain -> handlers -> server. */
export async function startSocialGraph(config: SocialGraphConfig): Promise<RunningSocialGraph> {
  const logger = createLogger("social-graph", config.LOG_LEVEL);

  await ensureDatabase(config.PG_PRIMARY_URL, logger);
  await migrate(config.PG_PRIMARY_URL, MIGRATIONS_DIR, logger);
  const primary = createPool(config.PG_PRIMARY_URL, config.PG_POOL_SIZE, "social-graph");
  const replica = config.PG_REPLICA_URL ? createPool(config.PG_REPLICA_URL, config.PG_POOL_SIZE, "social-graph-replica") : primary;
  const nats = await connectNats(config.NATS_URL, "social-graph", logger);
  await ensureStream(await nats.jetstreamManager(), STREAMS.graph);

  const graph = new SocialGraph(new UsersRepository(primary, replica), new FriendshipsRepository(primary, replica));
  const relay = startOutboxRelay({ pool: primary, connectionString: config.PG_PRIMARY_URL, nats, logger });
  const server = await startGrpcServer({ bindings: [socialGraphBinding(graph)], host: config.GRPC_HOST, port: config.GRPC_PORT, logger });
  const metrics = await startMetricsServer(config.METRICS_PORT);
  server.setServing(true);

  return {
    port: server.port,
    metricsPort: metrics.port,
    logger,
    flushOutbox: () => relay.flush(),
    stop: () =>
      closeAll(
        [
          { name: "health", close: () => server.setServing(false) },
          { name: "grpc", close: () => server.shutdown(config.SHUTDOWN_DEADLINE_MS) },
          { name: "outbox relay", close: () => relay.stop() },
          { name: "nats", close: () => drainNats(nats) },
          { name: "metrics", close: () => metrics.close() },
          { name: "postgres", close: async () => Promise.all([primary.end(), replica !== primary && replica.end()]) },
        ],
        logger,
      ),
  };
}
