#!/bin/sh
# The stand's PostgreSQL leader, on any PostgreSQL image of the major version: it needs only the
# server binaries on PATH, no image-specific entrypoint or variables. First start: initdb, accept
# replication connections, create the replication role. Every start: postgres in the foreground.
#   PG_SUPERUSER_PASSWORD    password of `postgres` over TCP (local socket connections are trusted)
#   PG_REPLICATION_PASSWORD  password of the `replicator` role the replica connects as
#   PG_APP_USER, PG_APP_PASSWORD  optional: a login role that may create databases, for the services
set -eu
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${PG_SUPERUSER_PASSWORD:?PG_SUPERUSER_PASSWORD must be set}"
: "${PG_REPLICATION_PASSWORD:?PG_REPLICATION_PASSWORD must be set}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "leader: first start, initialising $PGDATA"
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$PG_SUPERUSER_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  cat >> "$PGDATA/pg_hba.conf" <<HBA
host all all all scram-sha-256
host replication replicator all scram-sha-256
HBA
  cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
wal_level = replica
max_wal_senders = 10
wal_keep_size = 256MB
hot_standby = on
CONF
  # Only the local socket while the role is made: nobody connects half-configured.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  echo "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';" | psql -v ON_ERROR_STOP=1 -v password="$PG_REPLICATION_PASSWORD" -U postgres -d postgres -q
  if [ -n "${PG_APP_USER:-}" ]; then
    echo "CREATE ROLE :\"user\" WITH LOGIN CREATEDB PASSWORD :'password';" | psql -v ON_ERROR_STOP=1 -v user="$PG_APP_USER" -v password="${PG_APP_PASSWORD:?PG_APP_PASSWORD must be set with PG_APP_USER}" -U postgres -d postgres -q
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec postgres -D "$PGDATA"
