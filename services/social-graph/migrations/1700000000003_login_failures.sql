-- Up Migration
-- Failed logins per account (user id) and per client address, in fixed windows: what the login
-- throttle counts. One row per key; a window that ended restarts at the next failure.
CREATE TABLE login_failures (
  scope text NOT NULL CHECK (scope IN ('account', 'address')),
  key text NOT NULL,
  window_started timestamptz NOT NULL DEFAULT now(),
  failures integer NOT NULL,
  PRIMARY KEY (scope, key)
);

-- Down Migration
DROP TABLE login_failures;
