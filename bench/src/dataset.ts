import pg from "pg";

/** Sizes of a bench run; every figure in the report names the dataset it was measured on. */
export interface DatasetSize {
  users: number;
  minFollows: number;
  maxFollows: number;
  posts: number;
  celebrityFollowers: number;
}

export const SIZES: Record<"quick" | "default", DatasetSize> = {
  quick: { users: 2_000, minFollows: 10, maxFollows: 50, posts: 20_000, celebrityFollowers: 10_000 },
  default: { users: 200_000, minFollows: 10, maxFollows: 200, posts: 1_000_000, celebrityFollowers: 1_000_000 },
};

/** Every bench user logs in with this password; one scrypt hash, computed once, is stored for all. */
export const BENCH_PASSWORD = "bench-password";

/**
 * Generates the data set inside PostgreSQL (INSERT ... SELECT over generate_series), which is far
 * faster than millions of REST calls, and reproducible: every "random" choice is a hash of the seed
 * and the row number. Follows are skewed (friend index ~ N * r^3), so a few users have far more
 * followers than most, as in real graphs.
 */
export async function generateDataset(
  urls: { socialGraph: string; posts: string },
  size: DatasetSize,
  seed: number,
  passwordHash: string,
): Promise<{ seconds: { users: number; follows: number; posts: number } }> {
  const graph = new pg.Client({ connectionString: urls.socialGraph });
  const posts = new pg.Client({ connectionString: urls.posts });
  await Promise.all([graph.connect(), posts.connect()]);
  // Bulk load: the generated rows are consistent by construction, so foreign-key triggers (two index
  // lookups per friendship row) are skipped for this session only.
  await graph.query("SET session_replication_role = replica");
  try {
    await graph.query("TRUNCATE friendships, users, outbox");
    await graph.query("SET maintenance_work_mem = '512MB'");
    await graph.query("SET work_mem = '256MB'");
    await posts.query("TRUNCATE posts, outbox");
    const timed = async (work: () => Promise<unknown>) => {
      const started = Date.now();
      await work();
      return (Date.now() - started) / 1000;
    };
    const users = await timed(() =>
      graph.query(
        `INSERT INTO users (id, first_name, second_name, birthdate, password_hash)
         SELECT md5($1::text || ':u:' || g)::uuid, 'Имя' || (g % 997), 'Фамилия' || (g % 991), date '1970-01-01' + (g % 15000), $2
         FROM generate_series(1, $3::int) g`,
        [seed, passwordHash, size.users],
      ),
    );
    const follows = await timed(async () => {
      // Indexes are built after the load (one sort each) instead of maintained row by row: with
      // tens of millions of random UUID pairs that is the difference between minutes and many minutes.
      await graph.query("ALTER TABLE friendships DROP CONSTRAINT IF EXISTS friendships_pkey");
      await graph.query("DROP INDEX IF EXISTS friendships_followers");
      await graph.query(
        `INSERT INTO friendships (user_id, friend_id)
         SELECT DISTINCT md5($1::text || ':u:' || g)::uuid, md5($1::text || ':u:' || f)::uuid
         FROM generate_series(1, $2::int) g,
              LATERAL generate_series(1, $3::int + abs(hashtext($1::text || ':k:' || g)) % ($4::int - $3::int + 1)) j,
              LATERAL (SELECT 1 + floor($2::int * power((abs(hashtext($1::text || ':f:' || g || ':' || j)) % 1000000) / 1000000.0, 3))::int AS f) pick
         WHERE pick.f <> g`,
        [seed, size.users, size.minFollows, size.maxFollows],
      );
      await graph.query("ALTER TABLE friendships ADD CONSTRAINT friendships_pkey PRIMARY KEY (user_id, friend_id)");
      await graph.query("CREATE INDEX friendships_followers ON friendships (friend_id, user_id)");
      await graph.query(
        `UPDATE users u SET follower_count = c.n FROM (SELECT friend_id, count(*)::int AS n FROM friendships GROUP BY friend_id) c WHERE u.id = c.friend_id`,
      );
      await graph.query(
        `UPDATE users u SET friend_count = c.n FROM (SELECT user_id, count(*)::int AS n FROM friendships GROUP BY user_id) c WHERE u.id = c.user_id`,
      );
      // As after any bulk load: statistics for the planner, and the visibility map for index-only scans.
      await graph.query("VACUUM ANALYZE users");
      await graph.query("VACUUM ANALYZE friendships");
    });
    // Post ids are UUID v7 built from a creation time spread over the last 30 days, oldest first.
    const postsSeconds = await timed(async () => {
      await posts.query(
        `INSERT INTO posts (id, author_id, text, created_at, updated_at)
         SELECT (lpad(to_hex(t.ms), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
                md5($1::text || ':u:' || (1 + abs(hashtext($1::text || ':a:' || g)) % $2::int))::uuid,
                'Пост ' || g || ': ' || repeat('текст ', 1 + g % 40),
                to_timestamp(t.ms / 1000.0), to_timestamp(t.ms / 1000.0)
         FROM generate_series(1, $3::int) g,
              LATERAL (SELECT (extract(epoch FROM now()) * 1000)::bigint - ($3::int - g) * (30::bigint * 86400000 / $3::int) AS ms) t,
              LATERAL (SELECT md5($1::text || ':p:' || g) AS h) x`,
        [seed, size.users, size.posts],
      );
      await posts.query("VACUUM ANALYZE posts");
    });
    return { seconds: { users, follows, posts: postsSeconds } };
  } finally {
    await Promise.all([graph.end(), posts.end()]);
  }
}

export function benchUserId(seed: number, index: number): string {
  // md5(seed:u:index) as a UUID, as the SQL above makes it.
  return md5Uuid(`${seed}:u:${index}`);
}

import { createHash } from "node:crypto";
function md5Uuid(text: string): string {
  const hex = createHash("md5").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
