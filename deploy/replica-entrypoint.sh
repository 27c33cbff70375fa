#!/usr/bin/env bash
# Entrypoint of docker-compose.yml's db-replica (the official postgres image has no replica
# mode): on an empty volume, clone the primary with pg_basebackup; -R writes standby.signal
# and primary_conninfo, so PostgreSQL starts as a hot standby streaming from the primary.
# A volume that holds a cluster already is started as it is.
set -euo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PRIMARY_HOST="${PRIMARY_HOST:?name the primary in PRIMARY_HOST}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICATION_USER="${REPLICATION_USER:?name a user with the REPLICATION attribute}"

# PostgreSQL refuses to run as root, and a data directory it does not own will not start.
if [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec gosu postgres "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER"; do
        echo "waiting for the primary at $PRIMARY_HOST:$PRIMARY_PORT"
        sleep 1
    done
    PGPASSWORD="${REPLICATION_PASSWORD:-}" pg_basebackup \
        -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" \
        -D "$PGDATA" -R -X stream --checkpoint=fast --progress
fi

exec postgres -c hot_standby=on "$@"
