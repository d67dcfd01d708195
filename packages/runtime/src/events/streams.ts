import { z } from "zod";

/**
 * Every JetStream stream and subject of the mesh, in one place. Producers create their streams at
 * start; consumers create them too, so start order does not matter.
 */
export const SUBJECTS = {
  postCreated: "posts.created",
  postUpdated: "posts.updated",
  postDeleted: "posts.deleted",
  friendAdded: "graph.friend.added",
  friendRemoved: "graph.friend.removed",
  celebrityChanged: "graph.celebrity.changed",
} as const;

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Work queues drop a message once acknowledged; event streams keep history (the default). */
  workQueue?: boolean;
}

export const STREAMS = {
  posts: { name: "POSTS", subjects: ["posts.>"] },
  graph: { name: "GRAPH", subjects: ["graph.>"] },
  /** Chunks of celebrity fan-outs; any feed replica takes the next one. */
  fanout: { name: "FANOUT", subjects: ["fanout.>"], workQueue: true },
} as const satisfies Record<string, StreamSpec>;

/** Each feed deployment (consumer prefix) has its own chunk subject: a work queue allows one consumer per subject. */
export function fanoutChunkSubject(consumerPrefix: string): string {
  return `fanout.chunk.${consumerPrefix}`;
}

/** The deployment's subject of celebrity posts waiting to be planned into chunks. */
export function fanoutPlanSubject(consumerPrefix: string): string {
  return `fanout.plan.${consumerPrefix}`;
}

/** How long JetStream remembers a Nats-Msg-Id: covers a relay republishing after a crash or an outage. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** How long events are kept: long enough for a consumer that was down for a weekend to catch up. */
export const STREAM_MAX_AGE_MS = 7 * 24 * 3600_000;

/** Messages that failed `max_deliver` times land here, for inspection and replay. */
export const DEAD_LETTER_STREAM = { name: "DEADLETTER", subjects: ["deadletter.>"] } as const satisfies StreamSpec;

/** Plain NATS (not JetStream) subject on which the feed announces a post landing in a user's timeline. */
export function liveFeedSubject(userId: string): string {
  return `feed.live.${userId}`;
}

/**
 * The environment of a process that creates streams (social-graph, posts, feed): copies per stream.
 * Unset: 3 on a JetStream cluster of 3 or more servers, 1 on a single server (connectNats).
 */
export const streamReplicasEnv = {
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
};
