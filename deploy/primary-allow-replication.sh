#!/usr/bin/env bash
# Run by the postgres image once, when it initialises the primary's volume: the replica's
# replication connections. ("host all" does not match them: replication is a database name
# of its own in pg_hba.conf.)
set -euo pipefail
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
