/**
 * Test configuration: the machine's real PostgreSQL and NATS, but databases of the tests' own so
 * a developer's data is never touched. Every test makes fresh users, so runs do not interfere.
 */
const PG_BASE = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

export const testEnv = {
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
  NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  GRPC_HOST: "127.0.0.1",
  GRPC_PORT: "0",
  METRICS_PORT: "0",
  SHUTDOWN_DEADLINE_MS: "2000",
  JWT_SECRET: "test-secret-that-is-long-enough-for-hs256!",
  GATEWAY_HOST: "127.0.0.1",
  GATEWAY_PORT: "0",
  /** Redis database 1: the tests may flush it without touching a developer's feeds in database 0. */
  REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1",
  /** Durable consumers of this run only, removed when the mesh stops. */
  FEED_CONSUMER_PREFIX: `feed-test-${process.pid}`,
  /** Small numbers, so tests make celebrities and many chunks with a few dozen users. */
  CELEBRITY_THRESHOLD: "10",
  FANOUT_CHUNK_SIZE: "3",
  /**
   * Every test logs in from 127.0.0.1, run after run on a reused machine: the per-address login
   * throttle is tested with addresses of its own, so the shared one must not trip it.
   */
  LOGIN_MAX_FAILURES_PER_ADDRESS: "1000000",
  /** The reconciler is run by hand in its test. */
  FEED_SYNC_INTERVAL_MS: "0",
  /** Under `npm run test:cluster`: the local Redis Cluster and the JetStream cluster's stream replicas. */
  ...(process.env.REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES } : {}),
  ...(process.env.NATS_STREAM_REPLICAS ? { NATS_STREAM_REPLICAS: process.env.NATS_STREAM_REPLICAS } : {}),
};

export function databaseUrl(database: string): string {
  const url = new URL(PG_BASE);
  url.pathname = `/${database}`;
  return url.toString();
}

export const TEST_DATABASES = {
  socialGraph: databaseUrl("fanfare_test_social_graph"),
  posts: databaseUrl("fanfare_test_posts"),
};

/** The local streaming replica that `npm test` sets up (TEST_PG_REPLICA_URL), when there is one. */
export const TEST_REPLICA = process.env.TEST_PG_REPLICA_URL;

export function replicaUrl(database: string): string | undefined {
  if (!TEST_REPLICA) return undefined;
  const url = new URL(TEST_REPLICA);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Leader and (when there is one) replica settings of a database-owning service. */
export function databaseEnv(database: string): Record<string, string> {
  const replica = replicaUrl(database);
  return { PG_PRIMARY_URL: databaseUrl(database), ...(replica ? { PG_REPLICA_URL: replica } : {}) };
}
