import type { NatsConnection } from "nats";
import { events } from "@fanfare/contracts";
import { duringElections, fanoutChunkSubject } from "@fanfare/runtime/events";

/** Queues chunks on this deployment's subject of the FANOUT work queue; the msgID makes re-planning harmless. */
export function jetStreamChunkQueue(nats: NatsConnection, prefix: string): (job: events.FanoutChunk) => Promise<void> {
  const js = nats.jetstream();
  const subject = fanoutChunkSubject(prefix);
  return async (job) => {
    // De-duplication is per stream, across subjects: the msgID names the deployment too.
    // A stream leader election refuses publishes for a few seconds; the msgID makes a retry harmless.
    await duringElections(() =>
      js.publish(subject, events.FanoutChunk.encode(job).finish(), { msgID: `${prefix}:${job.postId}:${job.chunkIndex}` }),
    );
  };
}
