import type { posts, socialgraph } from "@fanfare/contracts";
import { readingFromLeader, unpackUuids } from "@fanfare/runtime";
import type { PromiseClient } from "@fanfare/runtime/grpc";

/** The posts service takes at most this many authors per call (its AUTHORS_MAX). */
const AUTHORS_PER_CALL = 5_000;
/** ...and answers at most this many posts per call (its RECENT_MAX_LIMIT); longer pages continue by keyset. */
const POSTS_PER_CALL = 1_000;

/**
 * What the databases say, through the owning services: the truth timelines are built from. What is
 * read here is written into the cache and kept, so these reads go to the leader: a replica a few
 * milliseconds behind would miss a follow or a post whose event was already handled, and the cache
 * would keep the gap (see ARCHITECTURE.md, "Why nothing is lost"). Only deep pages served straight
 * to a reader (recentPosts) use the replica, under the reader's own read-your-writes position.
 */
export class SourceOfTruth {
  constructor(
    private readonly socialGraph: PromiseClient<socialgraph.SocialGraphServiceClient>,
    private readonly posts: PromiseClient<posts.PostsServiceClient>,
  ) {}

  async friendsOf(userId: string): Promise<string[]> {
    return readingFromLeader(async () => (await this.socialGraph.listFriends({ userId })).friendIds);
  }

  /**
   * The newest posts of these authors, newest first, skipping `offset`; with `before`, only posts
   * older than that one (the reader's cached window ends there).
   */
  async recentPosts(authorIds: string[], offset: number, limit: number, before = ""): Promise<posts.Post[]> {
    return byKeyset(
      { authorUserIds: authorIds, offset, limit, beforePostId: before },
      (post) => post.id,
      async (page) => (await this.posts.listRecentPostsByAuthors(page)).posts,
    );
  }

  /** The same page as recentPosts, ids only (packed on the wire): no post text crosses the wire or the cache. */
  async recentPostIds(authorIds: string[], offset: number, limit: number): Promise<string[]> {
    return readingFromLeader(() =>
      byKeyset(
        { authorUserIds: authorIds, offset, limit, beforePostId: "" },
        (id) => id,
        async (page) => postIdsOf(await this.posts.listRecentPostIdsByAuthors({ ...page, packed: true })),
      ),
    );
  }

  /** Posts by id; deleted ones are missing from the answer. */
  async postsById(postIds: string[]): Promise<posts.Post[]> {
    if (postIds.length === 0) return [];
    return readingFromLeader(async () => (await this.posts.batchGetPosts({ postIds })).posts);
  }

  async celebrities(): Promise<string[]> {
    return (await this.socialGraph.listCelebrities({})).userIds;
  }

  /** The followers after `after` in chunks of `chunkSize` packed ids, as many as one call answers; done at the list's end. */
  async followerChunks(userId: string, after: string, chunkSize: number): Promise<{ chunks: Buffer[]; done: boolean }> {
    return readingFromLeader(() => this.socialGraph.listFollowerChunks({ userId, afterFollowerId: after, chunkSize, maxChunks: 0 }));
  }

  async followerPage(userId: string, after: string, pageSize: number): Promise<{ ids: string[]; next: string }> {
    const page = await readingFromLeader(() => this.socialGraph.listFollowers({ userId, afterFollowerId: after, pageSize }));
    return { ids: page.followerIds, next: page.nextAfterFollowerId };
  }
}

/** A posts service older than packed answers (mid rolling upgrade) still sends the ids as text. */
function postIdsOf(answer: posts.ListRecentPostIdsByAuthorsResponse): string[] {
  if (answer.packedPostIds.length === 0) return answer.postIds;
  const ids = unpackUuids(answer.packedPostIds);
  if (!ids) throw new Error(`the posts service sent ${answer.packedPostIds.length} bytes of packed ids, not a multiple of 16`);
  return ids;
}

type RecentPage = { authorUserIds: string[]; offset: number; limit: number; beforePostId: string };

/** A page longer than one call answers, as calls that each continue below the last post of the one before. */
async function byKeyset<T>(page: RecentPage, idOf: (item: T) => string, call: (page: RecentPage) => Promise<T[]>): Promise<T[]> {
  const items: T[] = [];
  let next = page;
  for (;;) {
    const limit = Math.min(POSTS_PER_CALL, page.limit - items.length);
    const got = await acrossAuthorChunks(next.authorUserIds, { ...next, limit }, idOf, call);
    items.push(...got);
    const last = got.at(-1);
    if (got.length < limit || items.length >= page.limit || !last) return items;
    next = { ...next, offset: 0, beforePostId: idOf(last) };
  }
}

/**
 * One page of the newest posts of many authors: one call when they fit its author limit; otherwise
 * the top offset+limit of each chunk of authors, merged by id (= time) and cut to the page.
 */
async function acrossAuthorChunks<T>(
  authorIds: string[],
  page: RecentPage,
  idOf: (item: T) => string,
  call: (page: RecentPage) => Promise<T[]>,
): Promise<T[]> {
  const { offset, limit } = page;
  if (authorIds.length === 0 || limit === 0) return [];
  if (authorIds.length <= AUTHORS_PER_CALL) return call(page);
  const chunks: string[][] = [];
  for (let i = 0; i < authorIds.length; i += AUTHORS_PER_CALL) chunks.push(authorIds.slice(i, i + AUTHORS_PER_CALL));
  const pages = await Promise.all(chunks.map((chunk) => call({ ...page, authorUserIds: chunk, offset: 0, limit: offset + limit })));
  return pages
    .flat()
    .sort((a, b) => (idOf(a) < idOf(b) ? 1 : -1))
    .slice(offset, offset + limit);
}
