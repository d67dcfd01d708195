import { inRequestedOrder, notFound, permissionDenied, requireText } from "@fanfare/runtime";
import type { PostRow, PostsRepository, RecentPage } from "../data-access/posts-repository.js";

/** Post length in characters (not bytes): the course's limit. */
export const POST_TEXT_RULE = { min: 1, max: 1000 } as const;
/** Posts per BatchGetPosts call: a feed page or a timeline chunk. */
export const BATCH_GET_MAX = 1_000;
/** Authors per ListRecentPostsByAuthors call: a user following more is served by the feed's cache. */
export const AUTHORS_MAX = 5_000;
/** Posts per ListRecentPostsByAuthors page; a timeline holds 1000. */
export const RECENT_MAX_LIMIT = 1_000;

/** The posts use cases; ids arrive validated by the transport layer. */
export class Posts {
  constructor(private readonly repository: PostsRepository) {}

  create(authorId: string, text: string): Promise<PostRow> {
    return this.repository.insert(authorId, requireText(text, "text", POST_TEXT_RULE));
  }

  async update(actorId: string, postId: string, text: string): Promise<PostRow> {
    requireText(text, "text", POST_TEXT_RULE);
    const outcome = await this.repository.updateOwned(actorId, postId, text);
    return requireOwned(outcome);
  }

  async delete(actorId: string, postId: string): Promise<void> {
    requireOwned(await this.repository.deleteOwned(actorId, postId));
  }

  async get(postId: string): Promise<PostRow> {
    const post = await this.repository.findById(postId);
    if (!post) throw notFound("post not found");
    return post;
  }

  /** In the order asked; unknown and deleted ids left out. */
  async getMany(ids: string[]): Promise<PostRow[]> {
    return inRequestedOrder(ids, await this.repository.findByIds([...new Set(ids)]));
  }

  recentByAuthors(page: RecentPage): Promise<PostRow[]> {
    if (page.authorIds.length === 0 || page.limit === 0) return Promise.resolve([]);
    return this.repository.recentByAuthors({ ...page, authorIds: [...new Set(page.authorIds)] });
  }

  recentIdsByAuthors(page: RecentPage): Promise<string[]> {
    if (page.authorIds.length === 0 || page.limit === 0) return Promise.resolve([]);
    return this.repository.recentIdsByAuthors({ ...page, authorIds: [...new Set(page.authorIds)] });
  }
}

export type OwnedChange<T> = { kind: "done"; value: T } | { kind: "missing" } | { kind: "not-owner" };

function requireOwned<T>(outcome: OwnedChange<T>): T {
  if (outcome.kind === "missing") throw notFound("post not found");
  if (outcome.kind === "not-owner") throw permissionDenied("only the author may change this post");
  return outcome.value;
}
