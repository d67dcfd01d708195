import type { posts, socialgraph } from "@fanfare/contracts";
import type { PromiseClient } from "@fanfare/runtime";

/** The posts service takes at most this many authors per call (its AUTHORS_MAX). */
const AUTHORS_PER_CALL = 5_000;

/** What the databases say, through the owning services: the truth timelines are built from. */
export class SourceOfTruth {
  constructor(
    private readonly socialGraph: PromiseClient<socialgraph.SocialGraphServiceClient>,
    private readonly posts: PromiseClient<posts.PostsServiceClient>,
  ) {}

  async friendsOf(userId: string): Promise<string[]> {
    return (await this.socialGraph.listFriends({ userId })).friendIds;
  }

  async follows(userId: string, friendId: string): Promise<boolean> {
    return (await this.friendsOf(userId)).includes(friendId);
  }

  /** The newest posts of these authors, newest first; authors beyond one call's limit are asked in chunks. */
  async recentPosts(authorIds: string[], offset: number, limit: number): Promise<posts.Post[]> {
    if (authorIds.length === 0 || limit === 0) return [];
    const chunks: string[][] = [];
    for (let i = 0; i < authorIds.length; i += AUTHORS_PER_CALL) chunks.push(authorIds.slice(i, i + AUTHORS_PER_CALL));
    const pages = await Promise.all(
      chunks.map((chunk) => this.posts.listRecentPostsByAuthors({ authorUserIds: chunk, offset: chunks.length === 1 ? offset : 0, limit: chunks.length === 1 ? limit : offset + limit })),
    );
    if (pages.length === 1) return pages[0]!.posts;
    return pages
      .flatMap((page) => page.posts)
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(offset, offset + limit);
  }

  /** Posts by id; deleted ones are missing from the answer. */
  async postsById(postIds: string[]): Promise<posts.Post[]> {
    if (postIds.length === 0) return [];
    return (await this.posts.batchGetPosts({ postIds })).posts;
  }

  async celebrities(): Promise<string[]> {
    return (await this.socialGraph.listCelebrities({})).userIds;
  }

  /** The last follower id of each range of `chunkSize` followers after `after`; done at the list's end. */
  async followerChunkBounds(userId: string, after: string, chunkSize: number): Promise<{ bounds: string[]; done: boolean }> {
    const page = await this.socialGraph.listFollowerChunkBounds({ userId, afterFollowerId: after, chunkSize, maxBounds: 0 });
    return { bounds: page.lastFollowerIds, done: page.done };
  }

  async followerPage(userId: string, after: string, pageSize: number): Promise<{ ids: string[]; next: string }> {
    const page = await this.socialGraph.listFollowers({ userId, afterFollowerId: after, pageSize });
    return { ids: page.followerIds, next: page.nextAfterFollowerId };
  }
}
