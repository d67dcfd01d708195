import type { posts, socialgraph } from "@fanfare/contracts";
import { invalidArgument, type PromiseClient } from "@fanfare/runtime";

/** Largest page a client may ask for; bigger pages belong to an export, not a feed. */
export const FEED_MAX_LIMIT = 100;
/** Deepest offset served; past it a client should narrow its query, not page for ever. */
export const FEED_MAX_OFFSET = 100_000;

export function validatePage(offset: number, limit: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > FEED_MAX_OFFSET) throw invalidArgument(`offset must be an integer from 0 to ${FEED_MAX_OFFSET}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > FEED_MAX_LIMIT) throw invalidArgument(`limit must be an integer from 1 to ${FEED_MAX_LIMIT}`);
}

/**
 * Home feed: the posts of the people a user follows, newest first. This first version asks the
 * social graph whom the user follows and the posts service for their recent posts (fan-out on read).
 */
export class FeedReader {
  constructor(
    private readonly socialGraph: PromiseClient<socialgraph.SocialGraphServiceClient>,
    private readonly posts: PromiseClient<posts.PostsServiceClient>,
  ) {}

  async read(userId: string, offset: number, limit: number): Promise<posts.Post[]> {
    validatePage(offset, limit);
    const { friendIds } = await this.socialGraph.listFriends({ userId });
    if (friendIds.length === 0) return [];
    const { posts } = await this.posts.listRecentPostsByAuthors({ authorUserIds: friendIds, offset, limit });
    return posts;
  }
}
