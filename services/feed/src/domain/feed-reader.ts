import type { posts } from "@fanfare/contracts";
import { invalidArgument } from "@fanfare/runtime";
import type { TimelinePage, TimelineStore } from "../data-access/timeline-store.js";
import type { CelebrityDirectory } from "./celebrity-directory.js";
import { cacheLookups, mergeHits, postCacheMisses } from "./feed-metrics.js";
import type { SourceOfTruth } from "./source-of-truth.js";
import type { TimelineBuilder } from "./timeline-builder.js";

/** Largest page a client may ask for; bigger pages belong to an export, not a feed. */
export const FEED_MAX_LIMIT = 100;
/** Deepest offset served; past it a client should narrow its query, not page for ever. */
export const FEED_MAX_OFFSET = 100_000;
/** Reads of one page, when cleaning stale entries (deleted posts, unfollowed authors) made it short. */
const MAX_READ_ATTEMPTS = 3;

type Post = posts.Post;

export function validatePage(offset: number, limit: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > FEED_MAX_OFFSET) throw invalidArgument(`offset must be an integer from 0 to ${FEED_MAX_OFFSET}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > FEED_MAX_LIMIT) throw invalidArgument(`limit must be an integer from 1 to ${FEED_MAX_LIMIT}`);
}

/**
 * Home feed reads: from the cached timeline in Redis (the warm path touches nothing else), merged
 * with the recent posts of the celebrities the user follows, rebuilt once when missing, and from
 * the posts service for offsets past the cached window.
 */
export class FeedReader {
  constructor(
    private readonly store: TimelineStore,
    private readonly builder: TimelineBuilder,
    private readonly source: SourceOfTruth,
    private readonly celebrities: CelebrityDirectory,
    private readonly maxItems: number,
  ) {}

  async read(userId: string, offset: number, limit: number): Promise<Post[]> {
    validatePage(offset, limit);
    for (let attempt = 1; ; attempt++) {
      // The top offset+limit ids (ids only, at most ~1100 x 16 bytes), so celebrity posts merge in at the right ranks.
      const page = await this.cachedPage(userId, 0, offset + limit);
      if (!page) return this.readFromSource(userId, offset, limit);
      if (offset + limit > page.size && page.size >= this.maxItems) {
        cacheLookups.inc({ outcome: "fallback" });
        return this.readFromSource(userId, offset, limit);
      }
      const postIds = (await this.mergeCelebrityPosts(page, offset + limit)).slice(offset, offset + limit);
      const { visible, stale } = await this.hydrate(userId, postIds);
      if (stale.length === 0 || attempt === MAX_READ_ATTEMPTS) return visible;
      await this.builder.removeAndRefill([userId], stale);
    }
  }

  /**
   * Twitter's read-time merge: a celebrity's post is in its fans' timelines only once its chunk has
   * landed, so the newest posts of the celebrities this user follows are merged in, without
   * duplicates and in the same (id = time) order the timeline has.
   */
  private async mergeCelebrityPosts(page: TimelinePage, count: number): Promise<string[]> {
    if (page.followed.length === 0) return page.postIds;
    const recent = await this.store.celebrityRecentPosts(page.followed, count);
    const inTimeline = new Set(page.postIds);
    const merged = [...new Set([...page.postIds, ...recent.flat()])].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).slice(0, count);
    mergeHits.inc(merged.filter((id) => !inTimeline.has(id)).length);
    return merged;
  }

  /** The timeline page, building the timeline first when it is not cached; undefined if that failed. */
  private async cachedPage(userId: string, offset: number, limit: number) {
    const page = await this.store.readPage(userId, offset, limit, this.celebrities.mergeable());
    if (page.exists) {
      cacheLookups.inc({ outcome: "hit" });
      return page;
    }
    cacheLookups.inc({ outcome: "miss" });
    if (!(await this.builder.ensureBuilt(userId))) return undefined;
    const rebuilt = await this.store.readPage(userId, offset, limit, this.celebrities.mergeable());
    return rebuilt.exists ? rebuilt : undefined;
  }

  private async readFromSource(userId: string, offset: number, limit: number): Promise<Post[]> {
    const cachedFriends = await this.store.friendIds(userId);
    const friends = cachedFriends.length > 0 ? cachedFriends : await this.source.friendsOf(userId);
    return this.source.recentPosts(friends, offset, limit);
  }

  /**
   * Post bodies for the ids, in order. Bodies come from the post cache, misses from the posts
   * service (and are cached). Deleted posts and posts of authors no longer followed are stale:
   * left out here and removed from the timeline by the caller.
   */
  private async hydrate(userId: string, postIds: string[]): Promise<{ visible: Post[]; stale: string[] }> {
    const cached = await this.store.cachedPosts(postIds);
    const missing = postIds.filter((_, i) => cached[i] === undefined);
    const fetched = new Map<string, Post>();
    if (missing.length > 0) {
      postCacheMisses.inc(missing.length);
      const found = await this.source.postsById(missing);
      await this.store.cachePosts(found);
      for (const post of found) fetched.set(post.id, post);
    }
    const bodies = postIds.map((id, i) => {
      const entry = cached[i];
      return entry === "deleted" ? undefined : (entry ?? fetched.get(id));
    });
    const authors = [...new Set(bodies.flatMap((post) => (post ? [post.authorUserId] : [])))];
    const following = await this.store.follows(userId, authors);
    const followed = new Set(authors.filter((_, i) => following[i]));
    const visible: Post[] = [];
    const stale: string[] = [];
    postIds.forEach((id, i) => {
      const post = bodies[i];
      if (post && followed.has(post.authorUserId)) visible.push(post);
      else stale.push(id);
    });
    return { visible, stale };
  }
}
