import type { NatsConnection } from "nats";
import { isStreamNotFound } from "../events/nats.js";
import { fanoutChunkSubject, fanoutPlanSubject, STREAMS } from "../events/streams.js";

/**
 * The durable consumers on the feed's streams whose names start with `prefix` (one feed deployment's).
 * A stream not made yet (a fresh NATS: the services make them when they start) has none.
 */
export async function feedConsumers(nats: NatsConnection, prefix: string): Promise<{ stream: string; name: string }[]> {
  const jsm = await nats.jetstreamManager();
  const found: { stream: string; name: string }[] = [];
  for (const stream of [STREAMS.posts.name, STREAMS.graph.name, STREAMS.fanout.name]) {
    try {
      for await (const consumer of jsm.consumers.list(stream))
        if (consumer.name.startsWith(prefix)) found.push({ stream, name: consumer.name });
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
  }
  return found;
}

/**
 * Forgets a feed deployment's place in the streams: its durable consumers (which outlive their
 * processes, and meanwhile gather every event other deployments on the same NATS publish) and its
 * queued celebrity plans and chunks. Its next start reads from the streams' end, as a deployment with an
 * empty cache should.
 */
export async function forgetFeedConsumers(nats: NatsConnection, prefix: string): Promise<void> {
  const jsm = await nats.jetstreamManager();
  for (const { stream, name } of await feedConsumers(nats, prefix)) await jsm.consumers.delete(stream, name);
  for (const subject of [fanoutChunkSubject(prefix), fanoutPlanSubject(prefix)])
    await jsm.streams.purge(STREAMS.fanout.name, { filter: subject }).catch((error: unknown) => {
      if (!isStreamNotFound(error)) throw error;
    });
}
