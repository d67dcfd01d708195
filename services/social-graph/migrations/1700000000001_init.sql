-- Up Migration
CREATE TABLE users (
  id uuid PRIMARY KEY,
  first_name text NOT NULL,
  second_name text NOT NULL,
  birthdate date,
  biography text NOT NULL DEFAULT '',
  city text NOT NULL DEFAULT '',
  -- scrypt, self-describing: scrypt$N$r$p$salt$key (base64). Never the password itself.
  password_hash text NOT NULL,
  -- Kept in the same transaction as the friendships rows, so it never drifts.
  follower_count integer NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
  friend_count integer NOT NULL DEFAULT 0 CHECK (friend_count >= 0),
  celebrity boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Prefix search on both names (GET /user/search). lower() makes it case-insensitive; COLLATE "C"
-- compares bytes, so `LIKE 'prefix%'` becomes a range scan on the first column and the index
-- order is the result order; the second name is checked inside the index; id makes the order
-- total, so equal names come back in a stable order. At 1M users a LIMIT 100 query reads about
-- 100 index entries plus the non-matching last names in between, never the whole range.
CREATE INDEX users_name_prefix ON users ((lower(first_name) COLLATE "C"), (lower(second_name) COLLATE "C"), id);

-- user_id follows friend_id.
CREATE TABLE friendships (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  friend_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, friend_id),
  CHECK (user_id <> friend_id)
);

-- Followers of a user in id order: keyset pages for fan-out over follower lists of any size.
CREATE INDEX friendships_followers ON friendships (friend_id, user_id);

-- Transactional outbox, published to JetStream stream GRAPH by the relay (see runtime/outbox.ts).
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL,
  subject text NOT NULL,
  payload bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE outbox;
DROP TABLE friendships;
DROP TABLE users;
