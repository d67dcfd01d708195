import { z } from "zod";
import { commonEnv, env } from "../core/config.js";
import type { ServiceBinding } from "../grpc/server.js";
import { serveGrpc } from "../grpc/server.js";
import { closeAll } from "../core/lifecycle.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { connectNats, drainNats, ensureStream } from "../events/nats.js";
import { startOutboxRelay } from "./outbox.js";
import { sweepIdempotencyKeys } from "./idempotency.js";
import { DatabaseRouter } from "./db-router.js";
import { createPool, databaseName, ensureDatabase, migrate, serverKey } from "./pool.js";
import { streamReplicasEnv, type StreamSpec } from "../events/streams.js";

/**
 * The environment of a service that owns a PostgreSQL database and publishes events through an
 * outbox (social-graph, posts). Each passes its own default database and port.
 */
export function pgServiceEnv(defaults: { database: string; grpcPort: number }) {
  return {
    ...commonEnv,
    PG_PRIMARY_URL: env.postgresUrl().default(`postgres://postgres@127.0.0.1:5432/${defaults.database}`),
    /** Reads go to the replica when set; unset means the leader serves reads too. */
    PG_REPLICA_URL: env.postgresUrl().optional(),
    NATS_URL: z.string().default("nats://127.0.0.1:4222"),
    ...streamReplicasEnv,
    GRPC_HOST: z.string().default("0.0.0.0"),
    GRPC_PORT: env.port(defaults.grpcPort),
    PG_POOL_SIZE: env.positiveInt(10),
    /** A replica behind by longer than this serves no reads until it catches up. */
    PG_REPLICA_MAX_LAG_MS: env.positiveInt(5_000),
  };
}

export type PgServiceConfig = z.infer<z.ZodObject<ReturnType<typeof pgServiceEnv>>>;

export interface RunningPgService {
  port: number;
  metricsPort: number;
  logger: Logger;
  /** Publishes pending outbox events now (tests use it to avoid waiting for the relay's poll). */
  flushOutbox(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts such a service: database and migrations, pools, NATS and its stream, the outbox relay,
 * the gRPC server with health and reflection, and /metrics. Stops in the reverse order, letting
 * in-flight calls finish first.
 */
export async function startPgService(options: {
  name: string;
  config: PgServiceConfig;
  migrationsDir: string;
  stream: StreamSpec;
  bind: (database: DatabaseRouter) => ServiceBinding[];
}): Promise<RunningPgService> {
  const { name, config } = options;
  const logger = createLogger(name, config.LOG_LEVEL);

  await ensureDatabase(config.PG_PRIMARY_URL, logger);
  await migrate(config.PG_PRIMARY_URL, options.migrationsDir, logger);
  const primary = createPool(config.PG_PRIMARY_URL, config.PG_POOL_SIZE, name);
  const replica = config.PG_REPLICA_URL ? createPool(config.PG_REPLICA_URL, config.PG_POOL_SIZE, `${name}-replica`) : primary;
  const nats = await connectNats(config.NATS_URL, name, logger, config.NATS_STREAM_REPLICAS);
  await ensureStream(nats, options.stream);

  const database = new DatabaseRouter({
    database: databaseName(config.PG_PRIMARY_URL),
    server: serverKey(config.PG_PRIMARY_URL),
    primary,
    replica,
    maxLagMs: config.PG_REPLICA_MAX_LAG_MS,
    logger,
  });
  database.start();

  const sweep = sweepIdempotencyKeys(primary, logger);
  const relay = startOutboxRelay({ pool: primary, connectionString: config.PG_PRIMARY_URL, server: database.server, nats, logger });
  const grpc = await serveGrpc(options.bind(database), config, logger);

  return {
    port: grpc.port,
    metricsPort: grpc.metricsPort,
    logger,
    flushOutbox: () => relay.flush(),
    stop: () =>
      closeAll(
        [
          ...grpc.drainSteps,
          { name: "outbox relay", close: () => relay.stop() },
          { name: "idempotency sweep", close: () => sweep.stop() },
          { name: "nats", close: () => drainNats(nats) },
          grpc.metricsStep,
          { name: "replica health", close: () => database.stop() },
          { name: "postgres", close: async () => void (await Promise.all([primary.end(), replica !== primary && replica.end()])) },
        ],
        logger,
      ),
  };
}
