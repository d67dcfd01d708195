import { connect, Events, nanos, RetentionPolicy, type NatsConnection, type JetStreamManager } from "nats";
import type { Logger } from "../observability/logger.js";
import { DUPLICATE_WINDOW_MS, STREAM_MAX_AGE_MS, type StreamSpec } from "./streams.js";

export type { NatsConnection };

/** Connects to NATS and keeps reconnecting for ever: an outage pauses events, it never stops the service. */
export async function connectNats(servers: string, name: string, logger: Logger): Promise<NatsConnection> {
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
  return connection;
}

/** Creates the stream, or brings an existing one to the expected subjects and limits. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const config = {
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
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config).catch((addError: unknown) => {
      // Another process created it between our look and our add.
      if (!(addError instanceof Error && /already in use/i.test(addError.message))) throw addError;
    });
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /stream not found/i.test(error.message);
}

/** Stops taking messages, lets what was received finish, then closes. */
export async function drainNats(connection: NatsConnection): Promise<void> {
  if (!connection.isClosed()) await connection.drain().catch(() => connection.close());
}
