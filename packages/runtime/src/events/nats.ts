import { connect, Events, nanos, RetentionPolicy, type NatsConnection, type JetStreamManager } from "nats";
import type { Logger } from "../observability/logger.js";
import { DUPLICATE_WINDOW_MS, STREAM_MAX_AGE_MS, type StreamSpec } from "./streams.js";

export type { NatsConnection };

/** Copies of each stream a JetStream cluster keeps; one server keeps one. */
const CLUSTER_STREAM_REPLICAS = 3;
/**
 * How long JetStream calls are retried while a stream or the meta group elects a leader: a killed
 * leader is replaced within 3-5 s here; twice that is still a blip, not an outage.
 */
const ELECTION_RETRY_MS = 10_000;
const ELECTION_RETRY_STEP_MS = 250;

/** Stream replicas per connection, decided at connect (see streamReplicas). */
const replicasByConnection = new WeakMap<NatsConnection, number>();

/**
 * Connects to NATS (a comma-separated server list for a cluster) and keeps reconnecting for ever:
 * an outage pauses events, it never stops the service. `streamReplicas` sets how many copies the
 * streams this process creates keep; unset, it is 3 on a cluster of 3 or more servers, else 1.
 */
export async function connectNats(servers: string, name: string, logger: Logger, streamReplicas?: number): Promise<NatsConnection> {
  const connection = await connect({
    servers: servers.split(","),
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === Events.Disconnect || status.type === Events.Reconnect)
        logger.warn({ nats: status.type }, "NATS connection changed");
    }
  })();
  replicasByConnection.set(connection, streamReplicas ?? clusterAwareReplicas(connection));
  return connection;
}

/** 3 when the server we reached says it is in a cluster of 3 or more (its INFO lists their client URLs), else 1. */
function clusterAwareReplicas(connection: NatsConnection): number {
  const servers = connection.info?.cluster ? (connection.info.connect_urls?.length ?? 1) : 1;
  return servers >= CLUSTER_STREAM_REPLICAS ? CLUSTER_STREAM_REPLICAS : 1;
}

/**
 * Runs a JetStream call, retrying it while the cluster elects a leader: during an election requests
 * time out or are refused ("no responders", "temporarily unavailable"); anything else is thrown at once.
 */
export async function duringElections<T>(call: () => Promise<T>, budgetMs = ELECTION_RETRY_MS): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isElectionError(error) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, ELECTION_RETRY_STEP_MS));
    }
  }
}

function isElectionError(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  // "subjects overlap": a server not yet current saw another process's just-created stream half-way
  // (seen once in the cluster suite, as a feed deployment started); it settles, so it is retried too.
  return (
    code === "TIMEOUT" ||
    code === "503" ||
    /timeout|no responders|temporarily unavailable|no suitable peers|leader|subjects overlap/i.test(message ?? "")
  );
}

/**
 * Creates the stream, or brings an existing one to the expected subjects, limits and replicas
 * (JetStream scales a stream's replicas in place), riding out leader elections.
 */
export async function ensureStream(nats: NatsConnection, spec: StreamSpec): Promise<void> {
  const jsm = await duringElections(() => nats.jetstreamManager());
  await duringElections(() => createOrUpdateStream(jsm, spec, replicasByConnection.get(nats) ?? 1));
}

async function createOrUpdateStream(jsm: JetStreamManager, spec: StreamSpec, replicas: number): Promise<void> {
  const config = {
    num_replicas: replicas,
    name: spec.name,
    subjects: [...spec.subjects],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(STREAM_MAX_AGE_MS),
    retention: spec.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
  };
  try {
    await jsm.streams.info(spec.name);
    await jsm.streams.update(spec.name, config);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    await jsm.streams.add(config).catch(async (addError: unknown) => {
      // Another process created it between our look and our add, or a server that was not current
      // during an election answered "not found": look again; if it is still not there, retry later.
      if (!(addError instanceof Error && /already in use|subjects overlap/i.test(addError.message))) throw addError;
      await jsm.streams.info(spec.name).catch(() => {
        throw new Error(`stream ${spec.name} temporarily unavailable: ${addError.message}`);
      });
    });
  }
}

/** JetStream's answer for a stream that does not exist (yet: streams are made by the first service to start). */
export function isStreamNotFound(error: unknown): boolean {
  return error instanceof Error && /stream not found/i.test(error.message);
}

/** Stops taking messages, lets what was received finish, then closes. */
export async function drainNats(connection: NatsConnection): Promise<void> {
  if (!connection.isClosed()) await connection.drain().catch(() => connection.close());
}
