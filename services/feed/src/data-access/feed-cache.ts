import { CelebrityPostLists } from "./celebrity-posts.js";
import { LiveMarks } from "./live-marks.js";
import { PostCache } from "./post-cache.js";
import { RebuildLocks } from "./rebuild-locks.js";
import type { FeedRedis } from "./redis-client.js";
import { TimelineStore } from "./timeline-store.js";

/** The feed's Redis by key family (ARCHITECTURE.md's key table). */
export interface FeedCacheStores {
  timelines: TimelineStore;
  posts: PostCache;
  celebrityPosts: CelebrityPostLists;
  rebuilds: RebuildLocks;
  liveMarks: LiveMarks;
}

/** The clients the stores use: fan-out's bulk script runs on a connection of their own, everything else on `reads`. */
export interface FeedRedisClients {
  reads: FeedRedis;
  fanOut: FeedRedis;
}

export function openFeedCache(clients: FeedRedisClients, maxItems: number, activeTtlSeconds: number): FeedCacheStores {
  const redis = clients.reads;
  return {
    timelines: new TimelineStore(redis, clients.fanOut, maxItems, activeTtlSeconds),
    posts: new PostCache(redis),
    celebrityPosts: new CelebrityPostLists(redis),
    rebuilds: new RebuildLocks(redis, maxItems, activeTtlSeconds),
    liveMarks: new LiveMarks(redis),
  };
}
