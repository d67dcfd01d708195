import type { Msg } from "nats";
import { randomUUID } from "node:crypto";
import { createLogger, runWithRequestContext } from "@fanfare/runtime/observability";
import { connectNats, type NatsConnection } from "@fanfare/runtime/events";
import { testEnv } from "./env.js";

export const quietLogger = createLogger("test", "silent");

export async function natsConnection(): Promise<NatsConnection> {
  return connectNats(testEnv.NATS_URL, "tests", quietLogger);
}

/**
 * Collects the events published on a subject from now on. JetStream publishes are ordinary NATS
 * messages on their subject, so a plain subscription sees them as the relay sends them, headers included.
 */
export function collectEvents(connection: NatsConnection, subject: string): { messages: Msg[]; stop: () => Promise<void> } {
  const subscription = connection.subscribe(subject);
  const messages: Msg[] = [];
  void (async () => {
    for await (const message of subscription) messages.push(message);
  })();
  return { messages, stop: async () => subscription.unsubscribe() };
}

/**
 * `it`, with the test body run as one caller of the mesh: the WAL positions its writes reach (gRPC
 * trailers) go with its later calls, so it reads its own writes however far the replica lags,
 * as a gateway request does.
 */
export function itAsCaller(title: string, body: (this: Mocha.Context) => Promise<unknown>): Mocha.Test {
  return globalThis.it(title, function (this: Mocha.Context) {
    return runWithRequestContext({ requestId: `test-${randomUUID()}` }, () => body.call(this));
  });
}
