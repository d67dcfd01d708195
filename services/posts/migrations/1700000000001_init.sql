-- Up Migration
CREATE TABLE posts (
  -- UUID v7: time-ordered, so "newest first" is "id descending" and the primary key stays compact.
  id uuid PRIMARY KEY,
  author_id uuid NOT NULL,
  text text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An author's posts newest first: feed rebuilds and "recent posts of these authors" read this.
CREATE INDEX posts_author_recent ON posts (author_id, id DESC);

-- Transactional outbox, published to JetStream stream POSTS by the relay (see runtime/outbox.ts).
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL,
  subject text NOT NULL,
  payload bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE outbox;
DROP TABLE posts;
