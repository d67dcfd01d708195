import { feed, type posts } from "@fanfare/contracts";
import { invalidArgument } from "@fanfare/runtime";
import type { EncodedPost } from "../data-access/post-cache.js";
import type { TimelinePage } from "../data-access/timeline-store.js";
import type { FeedCache, Truth } from "./ports.js";
import type { CelebrityDirectory } from "./celebrity-directory.js";
import { cacheLookups, mergeHits, postCacheMisses } from "./feed-metrics.js";
import type { TimelineBuilder } from "./timeline-builder.js";

/** The paging bounds of GetFeed, as feed.proto states them. */
const MAX_LIMIT: number = feed.FeedPaging.FEED_PAGING_MAX_LIMIT;
const MAX_OFFSET: number = feed.FeedPaging.FEED_PAGING_MAX_OFFSET;
/** Reads of one page, when cleaning stale entries (deleted posts, unfollowed authors) made it short. */
const MAX_READ_ATTEMPTS = 3;

type Post = posts.Post;

/**
 * A post of a feed page: the cached body as Redis holds it (encoded, passed through to the answer
 * untouched), or a post read from the posts service on a miss or past the cached window.
 */
export type FeedPost = EncodedPost | Post;

export function validatePage(offset: number, limit: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET)
    throw invalidArgument(`offset must be an integer from 0 to ${MAX_OFFSET}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidArgument(`limit must be an integer from 1 to ${MAX_LIMIT}`);
}

/** The newest ids of a user's feed as the cache has them: the timeline with celebrity posts merged in. */
interface CachedWindow {
  /** Newest first; a prefix of the feed's full newest-first list. */
  postIds: string[];
  /** Nothing older than these exists: a page past them is short, not continued. */
  historyEnds: boolean;
}

/**
 * Home feed reads, as named stages: the cached window (Redis: the timeline, merged with the recent
 * posts of the celebrities the user follows, rebuilt once when missing) -> hydration (bodies from
 * the post cache, still encoded) -> rules (deleted posts are stale) -> and, for a page that
 * runs past the window, the rest from the posts service, strictly older than the window's oldest
 * post, so the seam has no gap, duplicate or reordering.
 */
export class FeedReader {
  constructor(
    private readonly cache: FeedCache,
    private readonly builder: TimelineBuilder,
    private readonly source: Truth,
    private readonly celebrities: CelebrityDirectory,
  ) {}

  async read(userId: string, offset: number, limit: number): Promise<FeedPost[]> {
    validatePage(offset, limit);
    for (let attempt = 1; ; attempt++) {
      // Ids from the top (at most window + a page, 16 bytes each), so celebrity posts merge in at the right ranks.
      const window = await this.cachedWindow(userId, offset + limit);
      if (!window) return this.readFromSource(userId, offset, limit);
      const head = window.postIds.slice(offset, offset + limit);
      const { visible, stale } = await this.hydrate(head);
      if (stale.length > 0 && attempt < MAX_READ_ATTEMPTS) {
        await this.builder.removeAndRefill([userId], stale);
        continue;
      }
      if (head.length === limit || window.historyEnds) return visible;
      cacheLookups.inc({ outcome: "fallback" });
      const below = window.postIds.at(-1) ?? "";
      return [...visible, ...(await this.readFromSource(userId, Math.max(0, offset - window.postIds.length), limit - head.length, below))];
    }
  }

  /** The cached window's first `count` ids; undefined when the timeline could not be built. */
  private async cachedWindow(userId: string, count: number): Promise<CachedWindow | undefined> {
    const page = await this.cachedPage(userId, 0, count);
    if (!page) return undefined;
    return { postIds: await this.mergeCelebrityPosts(page, count), historyEnds: page.historyEnds };
  }

  /**
   * Twitter's read-time merge: a celebrity's post is in its fans' timelines only once its chunk has
   * landed, so the newest posts of the celebrities this user follows are merged in, without
   * duplicates and in the same (id = time) order the timeline has. When the timeline's history is
   * cut, merged posts older than its oldest post are left to the posts service, which continues
   * below it (keeping them would show them twice).
   */
  private async mergeCelebrityPosts(page: TimelinePage, count: number): Promise<string[]> {
    if (page.followed.length === 0) return page.postIds;
    const recent = await this.cache.celebrityPosts.recent(page.followed, count);
    const inTimeline = new Set(page.postIds);
    const oldest = page.postIds.at(-1);
    const reachesEnd = page.postIds.length < count;
    const mergeable = (id: string) => page.historyEnds || !reachesEnd || (oldest !== undefined && id > oldest);
    const merged = [...new Set([...page.postIds, ...recent.flat().filter(mergeable)])]
      .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
      .slice(0, count);
    mergeHits.inc(merged.filter((id) => !inTimeline.has(id)).length);
    return merged;
  }

  /** The timeline page, building the timeline first when it is not cached; undefined if that failed. */
  private async cachedPage(userId: string, offset: number, limit: number) {
    const page = await this.cache.timelines.readPage(userId, offset, limit, this.celebrities.mergeable());
    if (page.exists) {
      cacheLookups.inc({ outcome: "hit" });
      return page;
    }
    cacheLookups.inc({ outcome: "miss" });
    if (!(await this.builder.ensureBuilt(userId))) return undefined;
    const rebuilt = await this.cache.timelines.readPage(userId, offset, limit, this.celebrities.mergeable());
    return rebuilt.exists ? rebuilt : undefined;
  }

  /** A page from the posts service, optionally only of posts older than `below` (the cached window's end). */
  private async readFromSource(userId: string, offset: number, limit: number, below = ""): Promise<Post[]> {
    const cachedFriends = await this.cache.timelines.friendIds(userId);
    const friends = cachedFriends.length > 0 ? cachedFriends : await this.source.friendsOf(userId);
    return this.source.recentPosts(friends, offset, limit, below);
  }

  /**
   * Post bodies for the ids, in order: from the post cache, misses from the posts service (and
   * cached). Deleted posts are stale: left out here and removed from the timeline by the caller.
   * Every id in a timeline is by an author in its friend set (each write checks it in the same
   * script, and a follow or unfollow rewrites both together), so authors need no check here.
   */
  private async hydrate(postIds: string[]): Promise<{ visible: FeedPost[]; stale: string[] }> {
    const cached = await this.cache.posts.bodies(postIds);
    const missing = postIds.filter((_, i) => cached[i] === undefined);
    const fetched = new Map<string, Post>();
    if (missing.length > 0) {
      postCacheMisses.inc(missing.length);
      const found = await this.source.postsById(missing);
      await this.cache.posts.put(found);
      for (const post of found) fetched.set(post.id, post);
    }
    const visible: FeedPost[] = [];
    const stale: string[] = [];
    postIds.forEach((id, i) => {
      const entry = cached[i];
      const post = entry === "deleted" ? undefined : (entry ?? fetched.get(id));
      if (post) visible.push(post);
      else stale.push(id);
    });
    return { visible, stale };
  }
}
