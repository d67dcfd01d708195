#!/bin/sh
# The stand's streaming replica, on any PostgreSQL image of the leader's major version (server
# binaries on PATH only). First start: a base backup of the leader with -R, which writes
# standby.signal and primary_conninfo; every start: postgres in the foreground, streaming.
#   PG_LEADER_HOST           the leader's host name (default: postgres)
#   PG_REPLICATION_PASSWORD  password of the leader's `replicator` role
set -eu
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${PG_LEADER_HOST:=postgres}"
: "${PG_REPLICATION_PASSWORD:?PG_REPLICATION_PASSWORD must be set}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$PG_LEADER_HOST"; do
    echo "replica: waiting for the leader at $PG_LEADER_HOST"
    sleep 1
  done
  echo "replica: first start, copying the leader"
  # Into a side directory first: a copy cut short never looks like a data directory.
  rm -rf "$PGDATA.partial"
  PGPASSWORD="$PG_REPLICATION_PASSWORD" pg_basebackup -h "$PG_LEADER_HOST" -U replicator -D "$PGDATA.partial" -R -X stream -c fast
  mv "$PGDATA.partial" "$PGDATA"
  chmod 700 "$PGDATA"
fi
exec postgres -D "$PGDATA"
