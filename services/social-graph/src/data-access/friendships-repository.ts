import { events } from "@fanfare/contracts";
import { type DatabaseRouter, enqueueEvent, idempotentTransaction, jsonResult, type PoolClient } from "@fanfare/runtime/postgres";
import { SUBJECTS } from "@fanfare/runtime/events";

/** The counts of the followed user after a follow or unfollow, and the celebrity flag it had before. */
export interface FollowedCounts {
  followers: number;
  wasCelebrity: boolean;
}

export class FriendshipsRepository {
  constructor(private readonly db: DatabaseRouter) {}

  /**
   * Runs `work` in one leader transaction, once per idempotency key: a repeat with the same key
   * answers the first run's (JSON) result. The rows, counters and outbox events `work` writes commit
   * together or not at all.
   */
  inTransaction<T>(operation: string, request: unknown, work: (tx: FriendshipsTransaction) => Promise<T>): Promise<T> {
    return idempotentTransaction(this.db, operation, request, jsonResult<T>(), (client) => work(new FriendshipsTransaction(client)));
  }

  async friendsOf(userId: string): Promise<string[]> {
    const { rows } = await this.db.read<{ friend_id: string }>("SELECT friend_id FROM friendships WHERE user_id = $1 ORDER BY friend_id", [
      userId,
    ]);
    return rows.map((row) => row.friend_id);
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
   * The next `limit` followers after `afterId`, in id order, as one buffer of 16-byte ids: one
   * index-only range scan, and PostgreSQL packs the ids, so a page of 100K followers is one 1.6 MB
   * value instead of 100K rows of text.
   */
  async followerIdsPacked(userId: string, afterId: string | null, limit: number): Promise<Buffer> {
    const { rows } = await this.db.read<{ ids: Buffer | null }>(
      `SELECT string_agg(uuid_send(user_id), ''::bytea ORDER BY user_id) AS ids FROM (
         SELECT user_id FROM friendships
         WHERE friend_id = $1 AND ($2::uuid IS NULL OR user_id > $2::uuid)
         ORDER BY user_id LIMIT $3
       ) AS page`,
      [userId, afterId, limit],
    );
    return rows[0]?.ids ?? Buffer.alloc(0);
  }
}

/** The writes of one follow or unfollow, on the transaction's client; events go to the outbox in the same transaction. */
export class FriendshipsTransaction {
  constructor(private readonly client: PoolClient) {}

  /**
   * Locks both users' rows in id order: concurrent follows in opposite directions then queue up
   * instead of deadlocking, and the counters cannot race. False when either user is unknown.
   */
  async lockBothUsers(userId: string, friendId: string): Promise<boolean> {
    const { rowCount } = await this.client.query("SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", [
      [userId, friendId],
    ]);
    return rowCount === 2;
  }

  /** False when the user already followed the friend. */
  async insert(userId: string, friendId: string): Promise<boolean> {
    const { rowCount } = await this.client.query("INSERT INTO friendships (user_id, friend_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
      userId,
      friendId,
    ]);
    return rowCount === 1;
  }

  /** False when the user did not follow the friend. */
  async delete(userId: string, friendId: string): Promise<boolean> {
    const { rowCount } = await this.client.query("DELETE FROM friendships WHERE user_id = $1 AND friend_id = $2", [userId, friendId]);
    return rowCount === 1;
  }

  /** Moves the user's friend count and the friend's follower count by `delta`. */
  async adjustCounters(userId: string, friendId: string, delta: 1 | -1): Promise<FollowedCounts> {
    await this.client.query("UPDATE users SET friend_count = friend_count + $2 WHERE id = $1", [userId, delta]);
    const { rows } = await this.client.query<{ follower_count: number; celebrity: boolean }>(
      "UPDATE users SET follower_count = follower_count + $2 WHERE id = $1 RETURNING follower_count, celebrity",
      [friendId, delta],
    );
    return { followers: rows[0]!.follower_count, wasCelebrity: rows[0]!.celebrity };
  }

  async setCelebrity(userId: string, celebrity: boolean): Promise<void> {
    await this.client.query("UPDATE users SET celebrity = $2 WHERE id = $1", [userId, celebrity]);
  }

  async recordFriendAdded(userId: string, friendId: string): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.friendAdded,
      encode: (eventId) => events.FriendAdded.encode({ eventId, userId, friendId, occurredAt: new Date() }).finish(),
    });
  }

  async recordFriendRemoved(userId: string, friendId: string): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.friendRemoved,
      encode: (eventId) => events.FriendRemoved.encode({ eventId, userId, friendId, occurredAt: new Date() }).finish(),
    });
  }

  async recordCelebrityChanged(userId: string, celebrity: boolean, followerCount: number): Promise<void> {
    await enqueueEvent(this.client, {
      subject: SUBJECTS.celebrityChanged,
      encode: (eventId) => events.CelebrityChanged.encode({ eventId, userId, celebrity, followerCount, occurredAt: new Date() }).finish(),
    });
  }
}
