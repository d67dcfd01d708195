import { counter, histogram } from "@fanfare/runtime/observability";

/** Post created -> in followers' timelines: includes outbox relay, JetStream and fan-out. */
export const deliveryLatency = histogram(
  "feed_post_delivery_seconds",
  "Time from post creation to its fan-out into timelines",
  [],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
);
export const timelineWrites = counter("feed_timeline_writes_total", "Timeline insertions by fan-out and backfill");
export const rebuilds = counter("feed_timeline_rebuilds_total", "Timelines rebuilt from social-graph and posts");
export const resyncFixes = counter("feed_resync_fixes_total", "Cached timelines found out of date by the reconciler and repaired");
export const cacheLookups = counter(
  "feed_cache_lookups_total",
  "Feed reads by outcome: hit (warm timeline), miss (rebuilt), fallback (past the window)",
  ["outcome"],
);
export const postCacheMisses = counter("feed_post_cache_misses_total", "Post bodies not in Redis, fetched from the posts service");
export const chunksPublished = counter("feed_fanout_chunks_published_total", "Celebrity fan-out chunks queued");
export const chunksLanded = counter(
  "feed_fanout_chunks_landed_total",
  "Celebrity fan-out chunks written, by first delivery or redelivery",
  ["delivery"],
);
export const celebrityFanoutDuration = histogram(
  "feed_celebrity_fanout_seconds",
  "From a celebrity post's planning to its last chunk landing",
  [],
  [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
);
export const mergeHits = counter(
  "feed_celebrity_merge_hits_total",
  "Celebrity posts shown through the read-time merge before their chunk landed",
);
export const rebuildRetries = counter(
  "feed_timeline_rebuild_retries_total",
  "Rebuild snapshots discarded because the user's timeline changed while they were read",
);
export const livePushes = counter(
  "feed_live_pushes_total",
  "New posts published to the live feeds of connected followers (one NATS message each)",
);
