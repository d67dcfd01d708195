-- Up Migration
-- The feed asks for the (few) celebrities at start and periodically: a partial index keeps that a
-- scan of a handful of entries however many users there are.
CREATE INDEX users_celebrities ON users (id) WHERE celebrity;

-- Down Migration
DROP INDEX users_celebrities;
