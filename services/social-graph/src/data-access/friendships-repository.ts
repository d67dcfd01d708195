import { events } from "@fanfare/contracts";
import { enqueueEvent, idempotentTransaction, jsonResult, SUBJECTS, type DatabaseRouter, type PoolClient } from "@fanfare/runtime";
import { isCelebrity, type CelebrityRule } from "../domain/celebrity.js";

export type FriendshipChange = "changed" | "unchanged" | "unknown-user";

export class FriendshipsRepository {
  constructor(
    private readonly db: DatabaseRouter,
    private readonly celebrityRule: CelebrityRule,
  ) {}

  /** user follows friend: the row, both counters and the graph event commit together or not at all. */
  add(userId: string, friendId: string): Promise<FriendshipChange> {
    return idempotentTransaction(this.db, "friendships.add", { userId, friendId }, jsonResult<FriendshipChange>(), async (client) => {
      if (!(await lockBothUsers(client, userId, friendId))) return "unknown-user";
      const inserted = await client.query("INSERT INTO friendships (user_id, friend_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        userId,
        friendId,
      ]);
      if (inserted.rowCount === 0) return "unchanged";
      await this.adjustCounters(client, userId, friendId, +1);
      await enqueueEvent(client, {
        subject: SUBJECTS.friendAdded,
        encode: (eventId) => events.FriendAdded.encode({ eventId, userId, friendId, occurredAt: new Date() }).finish(),
      });
      return "changed";
    });
  }

  remove(userId: string, friendId: string): Promise<FriendshipChange> {
    return idempotentTransaction(this.db, "friendships.remove", { userId, friendId }, jsonResult<FriendshipChange>(), async (client) => {
      if (!(await lockBothUsers(client, userId, friendId))) return "unknown-user";
      const deleted = await client.query("DELETE FROM friendships WHERE user_id = $1 AND friend_id = $2", [userId, friendId]);
      if (deleted.rowCount === 0) return "unchanged";
      await this.adjustCounters(client, userId, friendId, -1);
      await enqueueEvent(client, {
        subject: SUBJECTS.friendRemoved,
        encode: (eventId) => events.FriendRemoved.encode({ eventId, userId, friendId, occurredAt: new Date() }).finish(),
      });
      return "changed";
    });
  }

  async friendsOf(userId: string): Promise<string[]> {
    const { rows } = await this.db.read<{ friend_id: string }>(
      "SELECT friend_id FROM friendships WHERE user_id = $1 ORDER BY friend_id",
      [userId],
    );
    return rows.map((row) => row.friend_id);
  }

  async celebrities(): Promise<string[]> {
    const { rows } = await this.db.read<{ id: string }>("SELECT id FROM users WHERE celebrity ORDER BY id", []);
    return rows.map((row) => row.id);
  }

  /**
   * Both counters move with the friendship row; when the followed user's count crosses the
   * celebrity threshold the flag flips in the same transaction and graph.celebrity.changed is queued.
   */
  private async adjustCounters(client: PoolClient, userId: string, friendId: string, delta: 1 | -1): Promise<void> {
    await client.query("UPDATE users SET friend_count = friend_count + $2 WHERE id = $1", [userId, delta]);
    const { rows } = await client.query<{ follower_count: number; celebrity: boolean }>(
      "UPDATE users SET follower_count = follower_count + $2 WHERE id = $1 RETURNING follower_count, celebrity",
      [friendId, delta],
    );
    const { follower_count: followers, celebrity: was } = rows[0]!;
    const now = isCelebrity(was, followers, this.celebrityRule);
    if (now === was) return;
    await client.query("UPDATE users SET celebrity = $2 WHERE id = $1", [friendId, now]);
    await enqueueEvent(client, {
      subject: SUBJECTS.celebrityChanged,
      encode: (eventId) =>
        events.CelebrityChanged.encode({ eventId, userId: friendId, celebrity: now, followerCount: followers, occurredAt: new Date() }).finish(),
    });
  }

  /** One keyset page of the users who follow `userId`, in id order after `afterId`. */
  async followersPage(userId: string, afterId: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.db.read<{ user_id: string }>(
      `SELECT user_id FROM friendships
       WHERE friend_id = $1 AND ($2::uuid IS NULL OR user_id > $2::uuid)
       ORDER BY user_id LIMIT $3`,
      [userId, afterId, limit],
    );
    return rows.map((row) => row.user_id);
  }

  /**
   * Every `chunkSize`-th follower id after `afterId` within the next `chunkSize * maxBounds`
   * followers, plus the last one there: one index-only range scan, only the bounds leave the server.
   */
  async followerChunkBounds(userId: string, afterId: string | null, chunkSize: number, maxBounds: number): Promise<{ bounds: string[]; scanned: number }> {
    // lead() looks one row ahead to find the last one, so the window never buffers the whole page.
    const { rows } = await this.db.read<{ user_id: string; n: string }>(
      `SELECT user_id, n FROM (
         SELECT user_id, row_number() OVER w AS n, lead(user_id) OVER w AS next_id
         FROM (
           SELECT user_id FROM friendships
           WHERE friend_id = $1 AND ($2::uuid IS NULL OR user_id > $2::uuid)
           ORDER BY user_id LIMIT $3::int * $4::int
         ) AS page
         WINDOW w AS (ORDER BY user_id)
       ) AS ranked
       WHERE n % $3 = 0 OR next_id IS NULL
       ORDER BY user_id`,
      [userId, afterId, chunkSize, maxBounds],
    );
    return { bounds: rows.map((row) => row.user_id), scanned: Number(rows.at(-1)?.n ?? 0) };
  }
}

/**
 * Locks both users' rows in id order: concurrent follows in opposite directions then queue up
 * instead of deadlocking, and the counters below cannot race. False when either user is unknown.
 */
async function lockBothUsers(client: PoolClient, userId: string, friendId: string): Promise<boolean> {
  const { rowCount } = await client.query("SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", [
    [userId, friendId],
  ]);
  return rowCount === 2;
}
