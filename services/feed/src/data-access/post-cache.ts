import { posts } from "@fanfare/contracts";
import { CallBatcher } from "@fanfare/runtime";
import { getMany, type FeedRedis } from "./redis-client.js";
import { redisKeys } from "./redis-keys.js";
import { CACHE_POST_SCRIPT } from "./timeline-scripts.js";

type Post = posts.Post;

/** A deleted post's cache entry: one byte, kept long enough to outlive any late event about the post. */
const TOMBSTONE = Buffer.from([0]);
const TOMBSTONE_TTL_SECONDS = 2 * 24 * 3600;
/** Post bodies stay cached this long after their last write; timelines hold ids only. */
const POST_TTL_SECONDS = 14 * 24 * 3600;

/** A cached body, a tombstone ("deleted"), or nothing cached. */
export type CachedPost = Post | "deleted" | undefined;

/** A post as the cache holds it and GetFeed answers it: one `posts.v1.Post` message, encoded. */
export type EncodedPost = Uint8Array;

/** A cached body still encoded, a tombstone ("deleted"), or nothing cached. */
export type CachedBody = EncodedPost | "deleted" | undefined;

type PostCacheRedis = FeedRedis & { cachePost(key: string, body: Buffer, ttl: number): Promise<number> };

/** `post:{id}`: each post's body once (protobuf), however many timelines hold its id; tombstones after deletion. */
export class PostCache {
  private readonly redis: PostCacheRedis;
  /** Body reads made together (those of one GetFeeds call's pages) go as one getMany. */
  private readonly bodyReads = new CallBatcher<string[], (Buffer | null)[]>(async (idLists) => {
    const values = await getMany(this.redis, idLists.flat().map(redisKeys.post));
    let at = 0;
    return idLists.map((ids) => ({ value: values.slice(at, (at += ids.length)) }));
  }, "tick");

  constructor(redis: FeedRedis) {
    redis.defineCommand("cachePost", { numberOfKeys: 1, lua: CACHE_POST_SCRIPT });
    this.redis = redis as PostCacheRedis;
  }

  /**
   * Bodies by id, in order, in one command where the layout allows (getMany): per-command client
   * cost was the feed's largest in profiles.
   */
  async get(postIds: string[]): Promise<CachedPost[]> {
    return (await this.bodies(postIds)).map((body) => (body instanceof Uint8Array ? posts.Post.decode(body) : body));
  }

  /**
   * The same, bodies left encoded: a feed page carries them into its answer as they are, since
   * decoding and re-encoding them was an eighth of the feed's CPU per read in profiles. The bodies
   * asked for in the same tick (by every page of a GetFeeds call) are read together.
   */
  async bodies(postIds: string[]): Promise<CachedBody[]> {
    if (postIds.length === 0) return [];
    const values = await this.bodyReads.call(postIds);
    return values.map((value) => {
      if (!value) return undefined;
      if (value.length === TOMBSTONE.length) return "deleted";
      return value;
    });
  }

  /** Caches bodies; returns, per post, false when it is known to be deleted (tombstoned) and was not cached. */
  async put(bodies: Post[]): Promise<boolean[]> {
    const results = await Promise.all(
      bodies.map((post) => this.redis.cachePost(redisKeys.post(post.id), Buffer.from(posts.Post.encode(post).finish()), POST_TTL_SECONDS)),
    );
    return results.map((result) => result === 1);
  }

  async tombstone(postId: string): Promise<void> {
    await this.redis.set(redisKeys.post(postId), TOMBSTONE, "EX", TOMBSTONE_TTL_SECONDS);
  }
}
