import pg from "pg";
import type { FeedRedis } from "@fanfare/feed/data-access/redis-client.js";
import { TEST_DATABASES } from "./env.js";
import { HISTORY_END, MARKER_SCORE } from "@fanfare/feed/data-access/post-ids.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

/**
 * A celebrity with `fans` followers straight into social-graph's database (flag already set, as
 * after crossing the threshold), every fan with a cached, empty timeline that follows the star.
 * Plain Redis commands: auto-pipelining sends them per server, or per master on a cluster.
 */
export async function seedCelebrity(redis: FeedRedis, star: string, fans: number): Promise<string[]> {
  const graph = new pg.Client({ connectionString: TEST_DATABASES.socialGraph });
  await graph.connect();
  try {
    await graph.query(
      "INSERT INTO users (id, first_name, second_name, password_hash, follower_count, celebrity) VALUES ($1, 'Lady', 'Gaga', 'x', $2, true)",
      [star, fans],
    );
    const { rows } = await graph.query<{ id: string }>(
      `WITH f AS (INSERT INTO users (id, first_name, second_name, password_hash, friend_count) SELECT gen_random_uuid(), 'Fan', 'Fan', 'x', 1 FROM generate_series(1, $1) RETURNING id)
       INSERT INTO friendships (user_id, friend_id) SELECT id, $2 FROM f RETURNING user_id AS id`,
      [fans, star],
    );
    await graph.query("ANALYZE friendships");
    const ids = rows.map((row) => row.id);
    for (let i = 0; i < ids.length; i += 5_000)
      await Promise.all(
        ids
          .slice(i, i + 5_000)
          .flatMap((fan) => [
            redis.zadd(redisKeys.timeline(fan), MARKER_SCORE, HISTORY_END),
            redis.expire(redisKeys.timeline(fan), 3600),
            redis.sadd(redisKeys.friends(fan), star),
            redis.expire(redisKeys.friends(fan), 3600),
          ]),
      );
    return ids;
  } finally {
    await graph.end();
  }
}

/** Removes the star, its fans and their follows. */
export async function removeCelebrity(star: string): Promise<void> {
  const graph = new pg.Client({ connectionString: TEST_DATABASES.socialGraph });
  await graph.connect();
  try {
    await graph.query("DELETE FROM users WHERE id IN (SELECT user_id FROM friendships WHERE friend_id = $1) OR id = $1", [star]);
  } finally {
    await graph.end();
  }
}
