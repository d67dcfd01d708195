import type { JsMsg, NatsConnection } from "nats";
import { events } from "@fanfare/contracts";
import { isUuid, PoisonMessage, startDurableConsumer, STREAMS, SUBJECTS, type Logger, type RunningConsumer } from "@fanfare/runtime";
import type { FanOut } from "../domain/fan-out.js";

/** Longer than the slowest handler: a fan-out to tens of thousands of followers takes seconds. */
const ACK_WAIT_MS = 60_000;
/** Deliveries before an event is dead-lettered: enough to ride out a restart of a downstream. */
const MAX_DELIVER = 10;

export interface ConsumerSettings {
  nats: NatsConnection;
  prefix: string;
  concurrency: number;
  logger: Logger;
}

/** The feed's durable JetStream consumers: post events and graph events, dispatched to fan-out. */
export async function startEventConsumers(fanOut: FanOut, settings: ConsumerSettings): Promise<RunningConsumer[]> {
  const common = {
    nats: settings.nats,
    concurrency: settings.concurrency,
    maxAckPending: settings.concurrency * 4,
    ackWaitMs: ACK_WAIT_MS,
    maxDeliver: MAX_DELIVER,
    logger: settings.logger,
  };
  return Promise.all([
    startDurableConsumer({ ...common, stream: STREAMS.posts, durable: `${settings.prefix}-posts`, filterSubject: "posts.>", handle: (message) => handlePostEvent(fanOut, message) }),
    startDurableConsumer({ ...common, stream: STREAMS.graph, durable: `${settings.prefix}-graph`, filterSubject: "graph.>", handle: (message) => handleGraphEvent(fanOut, message) }),
  ]);
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
      return fanOut.friendshipChanged(event.userId, event.friendId);
    }
    case SUBJECTS.celebrityChanged:
      return; // Celebrity fan-out arrives with the Lady Gaga work.
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
