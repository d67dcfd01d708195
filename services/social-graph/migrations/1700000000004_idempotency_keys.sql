-- Up Migration
-- Client retries with an Idempotency-Key: the first run's result, stored in the same transaction as
-- its change and answered to repeats (runtime/idempotency.ts). Swept after 24 hours.
CREATE TABLE idempotency_keys (
  key text NOT NULL,
  operation text NOT NULL,
  request_hash text NOT NULL,
  result text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, operation)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Down Migration
DROP TABLE idempotency_keys;
