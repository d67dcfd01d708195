import type { Msg } from "nats";
import { connectNats, createLogger, type NatsConnection } from "@fanfare/runtime";
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
