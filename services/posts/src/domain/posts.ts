import { inRequestedOrder, notFound, permissionDenied, requireText } from "@fanfare/runtime";
import type { PostRow, PostsRepository, PostsTransaction, RecentPage } from "../data-access/posts-repository.js";

/** Post length in characters (not bytes): the course's limit. */
export const POST_TEXT_RULE = { min: 1, max: 1000 } as const;
/** Posts per BatchGetPosts call: a feed page or a timeline chunk. */
export const BATCH_GET_MAX = 1_000;
/** Authors per ListRecentPostsByAuthors call: a user following more is served by the feed's cache. */
export const AUTHORS_MAX = 5_000;
/** Posts per ListRecentPostsByAuthors page; a timeline holds 1000. */
export const RECENT_MAX_LIMIT = 1_000;

/**
 * What a change of someone's post came to. Kept as the change's result (not thrown inside its
 * transaction) so that a repeat with the same idempotency key answers the same refusal.
 */
export type OwnedChange<T> = { kind: "done"; value: T } | { kind: "missing" } | { kind: "not-owner" };

/**
 * The posts use cases; ids arrive validated by the transport layer. Every change commits with its
 * event (posts.created, posts.updated, posts.deleted) in one transaction: the outbox.
 */
export class Posts {
  constructor(private readonly repository: PostsRepository) {}

  create(authorId: string, text: string): Promise<PostRow> {
    requireText(text, "text", POST_TEXT_RULE);
    return this.repository.inTransaction("posts.create", { authorId, text }, async (tx) => {
      const post = await tx.insert(authorId, text);
      await tx.recordCreated(post);
      return post;
    });
  }

  async update(actorId: string, postId: string, text: string): Promise<PostRow> {
    requireText(text, "text", POST_TEXT_RULE);
    const outcome = await this.repository.inTransaction("posts.update", { actorId, postId, text }, (tx) =>
      ifOwner(tx, actorId, postId, async () => {
        const post = await tx.updateText(postId, text);
        await tx.recordUpdated(post);
        return post;
      }),
    );
    return requireOwned(outcome);
  }

  async delete(actorId: string, postId: string): Promise<void> {
    const outcome = await this.repository.inTransaction("posts.delete", { actorId, postId }, (tx) =>
      ifOwner(tx, actorId, postId, async () => {
        await tx.delete(postId);
        await tx.recordDeleted(postId, actorId);
      }),
    );
    requireOwned(outcome);
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
    return pageOf(page, [], (distinct) => this.repository.recentByAuthors(distinct));
  }

  recentIdsByAuthors(page: RecentPage): Promise<string[]> {
    return pageOf(page, [], (distinct) => this.repository.recentIdsByAuthors(distinct));
  }

  /** recentIdsByAuthors's ids packed, 16 bytes each (see the repository). */
  recentIdsByAuthorsPacked(page: RecentPage): Promise<Buffer> {
    return pageOf(page, Buffer.alloc(0), (distinct) => this.repository.recentIdsByAuthorsPacked(distinct));
  }
}

/** A recent-posts page: `empty` without asking the database when nothing can match, else `read` with each author once. */
function pageOf<T>(page: RecentPage, empty: T, read: (distinct: RecentPage) => Promise<T>): Promise<T> {
  if (page.authorIds.length === 0 || page.limit === 0) return Promise.resolve(empty);
  return read({ ...page, authorIds: [...new Set(page.authorIds)] });
}

/** Runs `change` only when the post exists and `actorId` wrote it; the row stays locked until commit. */
async function ifOwner<T>(tx: PostsTransaction, actorId: string, postId: string, change: () => Promise<T>): Promise<OwnedChange<T>> {
  const author = await tx.lockedAuthor(postId);
  if (author === undefined) return { kind: "missing" };
  if (author !== actorId) return { kind: "not-owner" };
  return { kind: "done", value: await change() };
}

function requireOwned<T>(outcome: OwnedChange<T>): T {
  if (outcome.kind === "missing") throw notFound("post not found");
  if (outcome.kind === "not-owner") throw permissionDenied("only the author may change this post");
  return outcome.value;
}
