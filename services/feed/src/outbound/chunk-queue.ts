import type { NatsConnection } from "nats";
import { events } from "@fanfare/contracts";
import { duringElections, fanoutChunkSubject, fanoutPlanSubject } from "@fanfare/runtime/events";

/**
 * Queues plans and chunks on this deployment's subjects of the FANOUT work queue; the msgIDs make
 * queueing again (a redelivered event, a re-planned post) harmless.
 */
export function jetStreamFanoutQueue(
  nats: NatsConnection,
  prefix: string,
): { plan(job: events.FanoutPlan): Promise<void>; chunk(job: events.FanoutChunk): Promise<void> } {
  const js = nats.jetstream();
  // De-duplication is per stream, across subjects: the msgID names the deployment too.
  // A stream leader election refuses publishes for a few seconds; the msgID makes a retry harmless.
  const publish = (subject: string, data: Uint8Array, msgID: string) => duringElections(() => js.publish(subject, data, { msgID }));
  return {
    plan: async (job) =>
      void (await publish(fanoutPlanSubject(prefix), events.FanoutPlan.encode(job).finish(), `${prefix}:${job.postId}:plan`)),
    chunk: async (job) =>
      void (await publish(
        fanoutChunkSubject(prefix),
        events.FanoutChunk.encode(job).finish(),
        `${prefix}:${job.postId}:${job.chunkIndex}`,
      )),
  };
}
