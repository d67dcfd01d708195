/**
 * Every Redis key the feed uses, named in one place. Each key belongs to one user or one post; the
 * user id in braces is a hash tag, so a user's keys share a Redis Cluster slot and multi-key
 * scripts on them stay cluster-safe.
 */
/** The timeline key's text before the user id: the key, its SCAN pattern and its parser share it. */
const TIMELINE_HEAD = "tln:{";

export const redisKeys = {
  /**
   * Sorted set of the user's post ids, newest first: members are the ids' 16 bytes inverted, all
   * scores 0, then the history marker (post-ids.ts). "tln", not the "tl" of the oldest-first
   * layout before it, so no reader takes a timeline of one layout for the other.
   */
  timeline: (userId: string) => `${TIMELINE_HEAD}${userId}}`,
  /** Set of the ids of the users this user follows (for filtering and fall-backs). */
  friends: (userId: string) => `fr:{${userId}}`,
  /** Held by the one replica rebuilding this user's timeline (single-flight). */
  rebuildLock: (userId: string) => `lock:tl:{${userId}}`,
  /** Hash (post id -> author id) of fan-out adds made while a rebuild held the lock; merged by its commit. */
  rebuildPending: (userId: string) => `pend:tl:{${userId}}`,
  /** Present while the user is connected to a live feed (a gateway renews it); fan-out pushes to them. */
  connected: (userId: string) => `live:{${userId}}`,
  /** Sorted set (score 0, members as in timelines, so newest first) of the posts last pushed to a connected user: one push per post. */
  livePushed: (userId: string) => `pushed:{${userId}}`,
  /** A post's body (protobuf fanfare.posts.v1.Post), or a one-byte tombstone once deleted. */
  post: (postId: string) => `post:{${postId}}`,
  /** Sorted set (score 0, 16-byte ids as they are: oldest first) of a celebrity's newest posts, merged into fans' feeds at read time. */
  celebrityPosts: (userId: string) => `cposts:{${userId}}`,
  /** Hash: chunks planned, timelines written, start and finish times of a celebrity post's fan-out. */
  fanoutProgress: (postId: string) => `fanout:{${postId}}`,
  /** Set of the chunk indexes that have landed (redelivered chunks count once). */
  fanoutChunksDone: (postId: string) => `fanout:done:{${postId}}`,
  /** For SCAN: every timeline key. */
  timelinePattern: `${TIMELINE_HEAD}*}`,
} as const;

export function userIdOfTimelineKey(key: string): string {
  return key.slice(TIMELINE_HEAD.length, -1);
}

/**
 * A key function as the text before and after the id (with the client's key prefix, which ioredis
 * adds to declared keys only), for a script that names a user's other keys from the one it is
 * passed: they carry the same hash tag, so they are in the same slot.
 */
export function keyAround(keyOf: (id: string) => string, keyPrefix: string): [string, string] {
  const marker = "\n";
  const [head = "", tail = ""] = (keyPrefix + keyOf(marker)).split(marker);
  return [head, tail];
}
