import { events } from "@fanfare/contracts";
import { type NatsConnection, STREAMS, SUBJECTS } from "@fanfare/runtime/events";
import pg from "pg";
import { TEST_DATABASES, testEnv } from "./env.js";
import type { Committed } from "./workload.js";
import { runBounded } from "./workload.js";

/** Rows left in both services' outboxes (leader). */
export async function outboxRows(): Promise<number> {
  let rows = 0;
  for (const url of Object.values(TEST_DATABASES)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      rows += Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM outbox")).rows[0]!.n);
    } finally {
      await client.end();
    }
  }
  return rows;
}

/**
 * Waits until every committed change has left the outboxes and the feed's consumers (events and
 * fan-out chunks) have nothing pending or unacknowledged, several looks in a row.
 */
export async function waitForIdle(
  nats: NatsConnection,
  options: { flush: () => Promise<unknown>; timeoutMs?: number; prefix?: string },
): Promise<void> {
  const prefix = options.prefix ?? testEnv.FEED_CONSUMER_PREFIX;
  const jsm = await nats.jetstreamManager();
  const durables: [string, string][] = [
    [STREAMS.posts.name, `${prefix}-posts`],
    [STREAMS.graph.name, `${prefix}-graph`],
    [STREAMS.fanout.name, `${prefix}-fanout`],
  ];
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let quietLooks = 0;
  while (quietLooks < 3) {
    if (Date.now() > deadline) throw new Error("the mesh did not become idle in time");
    await options.flush();
    const busy =
      (await outboxRows()) > 0 ||
      (await Promise.all(durables.map(([stream, durable]) => jsm.consumers.info(stream, durable)))).some(
        (info) => info.num_pending > 0 || info.num_ack_pending > 0,
      );
    quietLooks = busy ? 0 : quietLooks + 1;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The last sequence of each event stream: what a run published comes after these. */
export async function streamPositions(nats: NatsConnection): Promise<Record<string, number>> {
  const jsm = await nats.jetstreamManager();
  const positions: Record<string, number> = {};
  for (const stream of [STREAMS.posts.name, STREAMS.graph.name]) positions[stream] = (await jsm.streams.info(stream)).state.last_seq;
  return positions;
}

/** Each counted subject: its kind, and the event's id and the user it is about (the author, or the follower). */
const EVENT_KINDS: Record<string, { kind: keyof Committed; read: (data: Uint8Array) => { eventId: string; about: string } }> = {
  [SUBJECTS.postCreated]: { kind: "postCreated", read: (data) => byAuthor(events.PostCreated.decode(data)) },
  [SUBJECTS.postUpdated]: { kind: "postUpdated", read: (data) => byAuthor(events.PostUpdated.decode(data)) },
  [SUBJECTS.postDeleted]: { kind: "postDeleted", read: (data) => byAuthor(events.PostDeleted.decode(data)) },
  [SUBJECTS.friendAdded]: { kind: "friendAdded", read: (data) => byFollower(events.FriendAdded.decode(data)) },
  [SUBJECTS.friendRemoved]: { kind: "friendRemoved", read: (data) => byFollower(events.FriendRemoved.decode(data)) },
};

function byAuthor(event: { eventId: string; authorUserId: string }) {
  return { eventId: event.eventId, about: event.authorUserId };
}

function byFollower(event: { eventId: string; userId: string }) {
  return { eventId: event.eventId, about: event.userId };
}

export interface PublishedEvents {
  /** Messages about the given users, by kind (as Committed counts them). */
  counts: Committed;
  /** Event ids seen more than once: a duplicate JetStream kept. */
  duplicateEventIds: string[];
}

/** Reads what the event streams hold after `since` and counts the events about `users`. */
export async function publishedSince(nats: NatsConnection, since: Record<string, number>, users: string[]): Promise<PublishedEvents> {
  const jsm = await nats.jetstreamManager();
  const ours = new Set(users);
  const counts: Committed = { postCreated: 0, postUpdated: 0, postDeleted: 0, friendAdded: 0, friendRemoved: 0 };
  const seen = new Set<string>();
  const duplicateEventIds: string[] = [];
  const note = (eventId: string, kind: keyof Committed, about: string) => {
    if (!ours.has(about)) return;
    counts[kind]++;
    if (seen.has(eventId)) duplicateEventIds.push(eventId);
    seen.add(eventId);
  };
  for (const [stream, after] of Object.entries(since)) {
    const last = (await jsm.streams.info(stream)).state.last_seq;
    await runBounded(last - after, 32, async (i) => {
      const message = await jsm.streams.getMessage(stream, { seq: after + 1 + i });
      const known = EVENT_KINDS[message.subject];
      if (!known) return;
      const { eventId, about } = known.read(message.data);
      note(eventId, known.kind, about);
    });
  }
  return { counts, duplicateEventIds };
}
