import type { JsMsg, NatsConnection } from "nats";
import { events } from "@fanfare/contracts";
import { isUuid, UUID_BYTES } from "@fanfare/runtime";
import type { Logger } from "@fanfare/runtime/observability";
import {
  fanoutChunkSubject,
  fanoutPlanSubject,
  PoisonMessage,
  type RunningConsumer,
  startDurableConsumer,
  STREAMS,
  SUBJECTS,
} from "@fanfare/runtime/events";
import type { CelebrityDirectory } from "../domain/celebrity-directory.js";
import type { FanOut } from "../domain/fan-out.js";

/** A worker that died holding an event gives it up after this; a live one extends it while working. */
const ACK_WAIT_MS = 10_000;
/** Deliveries before an event is dead-lettered: enough to ride out a restart of a downstream. */
const MAX_DELIVER = 10;

export interface ConsumerSettings {
  nats: NatsConnection;
  prefix: string;
  concurrency: number;
  fanoutConcurrency: number;
  fanoutAckWaitMs: number;
  logger: Logger;
}

/**
 * The feed's durable JetStream consumers this replica's duties call for: post and graph events
 * ("events"), celebrity fan-out plans and chunks ("chunks": work queues shared by the replicas that
 * take them), dispatched to fan-out.
 */
export async function startEventConsumers(
  fanOut: FanOut,
  duties: { events: boolean; chunks: boolean },
  settings: ConsumerSettings,
): Promise<RunningConsumer[]> {
  const common = {
    nats: settings.nats,
    concurrency: settings.concurrency,
    maxAckPending: settings.concurrency * 4,
    ackWaitMs: ACK_WAIT_MS,
    maxDeliver: MAX_DELIVER,
    logger: settings.logger,
  };
  const eventConsumers = () => [
    startDurableConsumer({
      ...common,
      stream: STREAMS.posts,
      durable: `${settings.prefix}-posts`,
      filterSubject: "posts.>",
      handle: (message) => handlePostEvent(fanOut, message),
    }),
    startDurableConsumer({
      ...common,
      stream: STREAMS.graph,
      durable: `${settings.prefix}-graph`,
      filterSubject: "graph.>",
      handle: (message) => handleGraphEvent(fanOut, message),
    }),
  ];
  const planConsumer = () =>
    startDurableConsumer({
      ...common,
      stream: STREAMS.fanout,
      durable: `${settings.prefix}-fanout-plan`,
      filterSubject: fanoutPlanSubject(settings.prefix),
      concurrency: 1,
      maxAckPending: 1,
      ackWaitMs: settings.fanoutAckWaitMs,
      pullWhenFree: true,
      handle: (message) => fanOut.planChunks(requirePlan(decode(events.FanoutPlan, message))),
    });
  const chunkConsumer = () =>
    startDurableConsumer({
      ...common,
      stream: STREAMS.fanout,
      durable: `${settings.prefix}-fanout`,
      filterSubject: fanoutChunkSubject(settings.prefix),
      concurrency: settings.fanoutConcurrency,
      // Chunks in flight across all replicas: bounds the write load a celebrity post puts on Redis.
      maxAckPending: settings.fanoutConcurrency * 2,
      ackWaitMs: settings.fanoutAckWaitMs,
      // Chunks take seconds and ack_wait is short (a dead worker's chunk moves on quickly): no prefetch.
      pullWhenFree: true,
      handle: (message) =>
        fanOut.deliverChunk(requireChunk(decode(events.FanoutChunk, message)), message.info.redelivered ? "redelivery" : "first"),
    });
  return Promise.all([...(duties.events ? eventConsumers() : []), ...(duties.chunks ? [planConsumer(), chunkConsumer()] : [])]);
}

/**
 * Every replica keeps its own celebrity list current: a plain subscription to the celebrity events
 * (JetStream publishes are ordinary NATS messages too), next to the periodic refresh.
 */
export function followCelebrityChanges(nats: NatsConnection, directory: CelebrityDirectory): { stop: () => void } {
  const subscription = nats.subscribe(SUBJECTS.celebrityChanged, {
    callback: (error, message) => {
      if (error) return;
      try {
        const event = events.CelebrityChanged.decode(message.data);
        if (isUuid(event.userId)) directory.apply(event.userId, event.celebrity);
      } catch {
        // Not ours to judge here; the durable graph consumer dead-letters undecodable events.
      }
    },
  });
  return { stop: () => subscription.unsubscribe() };
}

/** A job names its followers as whole 16-byte ids; one without any (queued by a version that sent ranges) is poison. */
function requirePlan(job: events.FanoutPlan): events.FanoutPlan {
  return requireIds(job, job.postId, job.authorUserId);
}

function requireChunk(job: events.FanoutChunk): events.FanoutChunk {
  requireIds(job, job.postId, job.authorUserId);
  if (job.followerIds.length === 0 || job.followerIds.length % UUID_BYTES !== 0)
    throw new PoisonMessage("fan-out chunk without whole follower ids");
  return job;
}

async function handlePostEvent(fanOut: FanOut, message: JsMsg): Promise<void> {
  switch (message.subject) {
    case SUBJECTS.postCreated: {
      const event = decode(events.PostCreated, message);
      return fanOut.postCreated(requireIds(event, event.postId, event.authorUserId));
    }
    case SUBJECTS.postUpdated: {
      const event = decode(events.PostUpdated, message);
      return fanOut.postUpdated(requireIds(event, event.postId, event.authorUserId));
    }
    case SUBJECTS.postDeleted: {
      const event = decode(events.PostDeleted, message);
      return fanOut.postDeleted(requireIds(event, event.postId, event.authorUserId));
    }
    default:
      throw new PoisonMessage(`unexpected subject ${message.subject}`);
  }
}

async function handleGraphEvent(fanOut: FanOut, message: JsMsg): Promise<void> {
  switch (message.subject) {
    case SUBJECTS.friendAdded:
    case SUBJECTS.friendRemoved: {
      // Both directions are handled alike: the handler reads whether the user follows now.
      const event = decode(events.FriendAdded, message);
      requireIds(event, event.userId, event.friendId);
      return fanOut.friendshipChanged(event.userId);
    }
    case SUBJECTS.celebrityChanged:
      return; // Every replica applies these through its own subscription (followCelebrityChanges).
    default:
      throw new PoisonMessage(`unexpected subject ${message.subject}`);
  }
}

function decode<T>(codec: { decode: (bytes: Uint8Array) => T }, message: JsMsg): T {
  try {
    return codec.decode(message.data);
  } catch (error) {
    throw new PoisonMessage(`undecodable ${message.subject}: ${(error as Error).message}`);
  }
}

function requireIds<T>(event: T, ...ids: string[]): T {
  if (!ids.every(isUuid)) throw new PoisonMessage("event with missing or malformed ids");
  return event;
}
