import { commonEnv, env, loadConfig } from "@fanfare/runtime";
import { streamReplicasEnv } from "@fanfare/runtime/events";
import { z } from "zod";

const FEED_DUTIES = new Set(["all", "reads", "events", "chunks"]);

export const feedEnv = {
  ...commonEnv,
  GRPC_HOST: z.string().default("0.0.0.0"),
  GRPC_PORT: env.port(15053),
  SOCIAL_GRAPH_ADDR: env.grpcAddress().default("127.0.0.1:15051"),
  POSTS_ADDR: env.grpcAddress().default("127.0.0.1:15052"),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// URL")
    .default("redis://127.0.0.1:6379"),
  /**
   * Seed nodes of a Redis Cluster ("host:port,host:port,..."); when set, the feed uses the cluster and
   * REDIS_URL is not read. Any reachable subset will do: the client learns the rest from CLUSTER SLOTS.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^([^\s,:]+:\d{1,5})(,[^\s,:]+:\d{1,5})*$/, "must be host:port[,host:port...]")
    .optional()
    .transform((value) => (value ? value.split(",") : [])),
  /** Put before every key of this deployment, so several share one Redis (a cluster has only database 0). */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]*$/, "letters, digits and _ . : - only")
    .default(""),
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  ...streamReplicasEnv,
  /** Post ids kept per timeline; the original system kept 1000. */
  FEED_MAX_ITEMS: env.positiveInt(1000),
  /** How often a reconciler pass over every cached timeline starts; 0 turns it off. */
  FEED_SYNC_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5 * 60_000),
  /**
   * Timelines a reconciler pass audits per second (two index-only reads on the leaders each). 50/s
   * covers 15K cached timelines per 5-minute interval; a larger cache is covered every N / 50 s.
   */
  FEED_SYNC_RATE: env.positiveInt(50),
  /** A timeline not read for this long is dropped and skipped by fan-out; the next read rebuilds it. */
  FEED_ACTIVE_DAYS: env.positiveInt(30),
  /** JetStream durable consumer names start with this; replicas of one deployment share them. */
  FEED_CONSUMER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("feed"),
  /**
   * What a replica does besides answering the reads it is sent, as a comma list: "events" (post and
   * graph events, so ordinary fan-out and live pushes, and the reconciler), "chunks" (celebrity
   * fan-out chunks, a work queue shared by the replicas that take it); "all" is both, "reads" neither
   * (a replica only readers are routed to). Chunks apart from events let a celebrity's fan-out run at
   * a lower CPU weight than reads and live pushes (deploy/k8s/base/feed.yaml).
   */
  FEED_ROLE: z
    .string()
    .default("all")
    .transform((value, context) => {
      const duties = value.split(",").map((duty) => duty.trim());
      const unknown = duties.filter((duty) => !FEED_DUTIES.has(duty));
      if (unknown.length > 0) {
        context.addIssue({ code: "custom", message: `unknown duties ${unknown.join(", ")}: use all, reads, events, chunks` });
        return z.NEVER;
      }
      return { events: duties.includes("all") || duties.includes("events"), chunks: duties.includes("all") || duties.includes("chunks") };
    }),
  /** Events handled at once by one replica. */
  FEED_EVENT_CONCURRENCY: env.positiveInt(16),
  /**
   * Followers per fan-out job of a celebrity's post. The bench measured 62K timelines/s at 1000 and
   * 92K/s at 5000 (fewer per-job costs); social-graph pages at most 10000 followers per call.
   */
  FANOUT_CHUNK_SIZE: z.coerce.number().int().min(1).max(10_000).default(5000),
  /**
   * Chunks one replica writes at once; with the pause below, this bounds Redis write pressure. 2, not
   * 4: on the bench's 2 cores a 1M-follower fan-out took ~10% longer (10.1-11.0 s vs 9.0-9.7 s) while
   * feed reads during it kept p99 at 53-71 ms instead of 60-88 ms.
   */
  FANOUT_CONCURRENCY: env.positiveInt(2),
  /**
   * A chunk whose worker sends no heartbeat for this long is handed to another replica (its worker
   * died). Workers beat every third of it and pull a chunk only when free, so a chunk being worked on
   * is never handed on; a kill delays the chunks it held by at most this (it was 30 s: a 100K-follower
   * fan-out killed midway then took 30.5 s instead of 1.3 s).
   */
  FANOUT_ACK_WAIT_MS: env.positiveInt(3_000),
  /** Pause after each chunk, to spread a huge fan-out and leave Redis to readers; 0: none. */
  FANOUT_CHUNK_PAUSE_MS: z.coerce.number().int().min(0).default(0),
};

export type FeedConfig = z.infer<z.ZodObject<typeof feedEnv>>;

export function loadFeedConfig(source: NodeJS.ProcessEnv = process.env): FeedConfig {
  return loadConfig(feedEnv, source);
}
