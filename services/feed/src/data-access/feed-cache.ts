import { CelebrityPostLists } from "./celebrity-posts.js";
import { LiveMarks } from "./live-marks.js";
import { PostCache } from "./post-cache.js";
import { RebuildLocks } from "./rebuild-locks.js";
import type { FeedRedis } from "./redis-client.js";
import { TimelineStore } from "./timeline-store.js";

/** The feed's Redis by key family (ARCHITECTURE.md's key table), all on one client. */
export interface FeedCacheStores {
  timelines: TimelineStore;
  posts: PostCache;
  celebrityPosts: CelebrityPostLists;
  rebuilds: RebuildLocks;
  liveMarks: LiveMarks;
}

export function openFeedCache(redis: FeedRedis, maxItems: number, activeTtlSeconds: number): FeedCacheStores {
  return {
    timelines: new TimelineStore(redis, maxItems, activeTtlSeconds),
    posts: new PostCache(redis),
    celebrityPosts: new CelebrityPostLists(redis),
    rebuilds: new RebuildLocks(redis, maxItems, activeTtlSeconds),
    liveMarks: new LiveMarks(redis),
  };
}
