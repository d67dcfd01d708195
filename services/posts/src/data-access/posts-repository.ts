import { v7 as uuidv7 } from "uuid";
import { events } from "@fanfare/contracts";
import { SUBJECTS } from "@fanfare/runtime/events";
import { enqueueEvent, idempotentTransaction, jsonResult, type DatabaseRouter, type PoolClient } from "@fanfare/runtime/postgres";

export interface PostRow {
  id: string;
  author_id: string;
  text: string;
  created_at: Date;
  updated_at: Date;
}

/** A page of the newest posts of some authors: `offset` counts from just below `before` (or the newest). */
export interface RecentPage {
  authorIds: string[];
  offset: number;
  limit: number;
  before?: string;
}

const POST_COLUMNS = "id, author_id, text, created_at, updated_at";

/**
 * A page of the newest post ids of some authors ($1 authors, $2 offset, $3 limit, $4 keyset bound):
 * each author contributes at most offset + limit ids through posts_author_recent (index only).
 */
const RECENT_IDS_PAGE = `SELECT p.id
  FROM unnest($1::uuid[]) AS a(author_id)
  CROSS JOIN LATERAL (
    SELECT id FROM posts
    WHERE posts.author_id = a.author_id AND ($4::uuid IS NULL OR posts.id < $4::uuid)
    ORDER BY id DESC LIMIT $2::int + $3::int
  ) AS p
  ORDER BY p.id DESC OFFSET $2 LIMIT $3`;

export class PostsRepository {
  constructor(private readonly db: DatabaseRouter) {}

  /**
   * Runs `work` in one leader transaction, once per idempotency key: a repeat with the same key
   * answers the first run's (JSON) result. Everything `work` writes, outbox events included, commits
   * together or not at all.
   */
  inTransaction<T>(operation: string, request: unknown, work: (tx: PostsTransaction) => Promise<T>): Promise<T> {
    return idempotentTransaction(this.db, operation, request, jsonResult<T>(), (client) => work(new PostsTransaction(client)));
  }

  async findById(id: string): Promise<PostRow | undefined> {
    const { rows } = await this.db.read<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = $1`, [id], { expectRows: 1 });
    return rows[0];
  }

  async findByIds(ids: string[]): Promise<PostRow[]> {
    const { rows } = await this.db.read<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = ANY($1::uuid[])`, [ids], {
      expectRows: ids.length,
    });
    return rows;
  }

  /**
   * Newest first across authors, older than `page.before` when given (keyset). Each author
   * contributes at most offset + limit posts through posts_author_recent (a LATERAL top-N per
   * author), so the sort never sees an author's whole history.
   */
  async recentByAuthors(page: RecentPage): Promise<PostRow[]> {
    const { rows } = await this.db.read<PostRow>(
      `SELECT p.id, p.author_id, p.text, p.created_at, p.updated_at
       FROM unnest($1::uuid[]) AS a(author_id)
       CROSS JOIN LATERAL (
         SELECT ${POST_COLUMNS} FROM posts
         WHERE posts.author_id = a.author_id AND ($4::uuid IS NULL OR posts.id < $4::uuid)
         ORDER BY id DESC LIMIT $2::int + $3::int
       ) AS p
       ORDER BY p.id DESC OFFSET $2 LIMIT $3`,
      recentPageParameters(page),
    );
    return rows;
  }

  /** The same page as recentByAuthors, ids only: the index holds them, so the table is not read. */
  async recentIdsByAuthors(page: RecentPage): Promise<string[]> {
    const { rows } = await this.db.read<{ id: string }>(RECENT_IDS_PAGE, recentPageParameters(page));
    return rows.map((row) => row.id);
  }

  /**
   * The same ids packed by PostgreSQL, 16 bytes each, newest first: one value instead of a row per
   * post, so neither this service nor the caller parses or encodes a string per post.
   */
  async recentIdsByAuthorsPacked(page: RecentPage): Promise<Buffer> {
    const { rows } = await this.db.read<{ ids: Buffer | null }>(
      `SELECT string_agg(uuid_send(id), ''::bytea ORDER BY id DESC) AS ids FROM (${RECENT_IDS_PAGE}) AS page`,
      recentPageParameters(page),
    );
    return rows[0]?.ids ?? Buffer.alloc(0);
  }
}

/** The writes of one change, on the transaction's client; events go to the outbox in the same transaction. */
export class PostsTransaction {
  constructor(private readonly client: PoolClient) {}

  async insert(authorId: string, text: string): Promise<PostRow> {
    const { rows } = await this.client.query<PostRow>(
      `INSERT INTO posts (id, author_id, text) VALUES ($1, $2, $3) RETURNING ${POST_COLUMNS}`,
      [uuidv7(), authorId, text],
    );
    return rows[0]!;
  }

  /** The post's author, with the row locked against a concurrent edit or delete; undefined when missing. */
  async lockedAuthor(postId: string): Promise<string | undefined> {
    const { rows } = await this.client.query<{ author_id: string }>("SELECT author_id FROM posts WHERE id = $1 FOR UPDATE", [postId]);
    return rows[0]?.author_id;
  }

  async updateText(postId: string, text: string): Promise<PostRow> {
    const { rows } = await this.client.query<PostRow>(
      `UPDATE posts SET text = $2, updated_at = now() WHERE id = $1 RETURNING ${POST_COLUMNS}`,
      [postId, text],
    );
    return rows[0]!;
  }

  async delete(postId: string): Promise<void> {
    await this.client.query("DELETE FROM posts WHERE id = $1", [postId]);
  }

  async recordCreated(post: PostRow): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.postCreated,
      encode: (eventId) =>
        events.PostCreated.encode({
          eventId,
          postId: post.id,
          authorUserId: post.author_id,
          text: post.text,
          createdAt: post.created_at,
        }).finish(),
    });
  }

  async recordUpdated(post: PostRow): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.postUpdated,
      encode: (eventId) =>
        events.PostUpdated.encode({
          eventId,
          postId: post.id,
          authorUserId: post.author_id,
          text: post.text,
          updatedAt: post.updated_at,
        }).finish(),
    });
  }

  async recordDeleted(postId: string, authorId: string): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.postDeleted,
      encode: (eventId) => events.PostDeleted.encode({ eventId, postId, authorUserId: authorId, deletedAt: new Date() }).finish(),
    });
  }
}

function recentPageParameters(page: RecentPage): unknown[] {
  return [page.authorIds, page.offset, page.limit, page.before ?? null];
}
