#!/usr/bin/env bash
# A streaming replica of the PostgreSQL on 127.0.0.1:5432, for the replica tests.
#
#   .ci/replica.sh up     (re)create the cluster "replica" on port 5433 from a base backup
#   .ci/replica.sh down   drop it and take the replication rule out of the primary again
#
# Run as root on a Debian-style PostgreSQL (pg_createcluster, pg_ctlcluster). `up` is
# idempotent; `down` leaves the primary as it was before `up` (callers run it from a trap).
set -euo pipefail

VERSION="${PG_VERSION:-15}"
CLUSTER=replica
PORT="${REPLICA_PORT:-5433}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
# Replication connections match only "replication" lines: "host all" does not admit them.
RULE="host replication all 127.0.0.1/32 trust"
# Present when `up` added the rule, so that `down` never removes one an operator had put there.
ADDED_RULE_MARK="${TMPDIR:-/tmp}/okb-replica-rule-added-$PRIMARY_PORT"

primary() {
    runuser -u postgres -- psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -qAtX "$@"
}

hba_file() {
    primary -c "SHOW hba_file"
}

drop_replica() {
    if pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c' | grep -q .; then
        pg_dropcluster --stop "$VERSION" "$CLUSTER"
    fi
}

up() {
    drop_replica
    local hba
    hba=$(hba_file)
    if ! grep -qxF "$RULE" "$hba"; then
        printf '%s\n' "$RULE" >>"$hba"
        touch "$ADDED_RULE_MARK"
        primary -c "SELECT pg_reload_conf()" >/dev/null
    fi
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
    local conf=/etc/postgresql/$VERSION/$CLUSTER
    local data
    data=$(awk -F"'" '/^data_directory/ {print $2}' "$conf/postgresql.conf")
    # Tests connect as postgres without a password, as they do to the primary.
    cat >"$conf/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
HBA
    find "$data" -mindepth 1 -delete
    # As postgres: a data directory with root-owned files does not start. A fast checkpoint:
    # the default spread one makes the backup wait for minutes on an idle primary.
    runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
        -D "$data" -R -X stream --checkpoint=fast
    pg_ctlcluster "$VERSION" "$CLUSTER" start
    for _ in $(seq 1 30); do
        if [ "$(runuser -u postgres -- psql -h 127.0.0.1 -p "$PORT" -U postgres -qAtX \
            -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = "t" ]; then
            echo "replica streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$PORT"
            return
        fi
        sleep 0.5
    done
    echo "FATAL: the replica on port $PORT does not answer as a standby" >&2
    exit 1
}

down() {
    drop_replica
    local hba
    hba=$(hba_file)
    if [ -e "$ADDED_RULE_MARK" ] && grep -qxF "$RULE" "$hba"; then
        local kept
        kept=$(mktemp)
        grep -vxF "$RULE" "$hba" >"$kept" || true
        cat "$kept" >"$hba" # in place: the file keeps its owner and mode
        rm -f "$kept"
        primary -c "SELECT pg_reload_conf()" >/dev/null
    fi
    rm -f "$ADDED_RULE_MARK"
}

case "${1:-}" in
up) up ;;
down) down ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
