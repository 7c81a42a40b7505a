#!/usr/bin/env bash
# Baseline (a): what the official `postgres` image's docker-entrypoint.sh does,
# written again here step by step (as in its 15/bookworm variant):
#   as root: create PGDATA and the socket directory, chown them to postgres,
#            re-exec itself as postgres (gosu there, setpriv here);
#   first boot only (no PGDATA/PG_VERSION):
#     initdb --username=$POSTGRES_USER --pwfile=<(password);
#     `postgres -C password_encryption`, append "host all all all <that>" to pg_hba.conf;
#     temporary server on the unix socket only: pg_ctl -o "-c listen_addresses=''" -w start;
#     psql: SELECT 1 FROM pg_database WHERE datname = :'db'; CREATE DATABASE :"db";
#     pg_ctl -m fast -w stop;
#   exec postgres (it becomes PID 1).
# Differences on purpose: the socket directory is $BENCH_SOCKDIR instead of
# /var/run/postgresql, the port is $BENCH_PGPORT, the final server listens on
# 127.0.0.1 instead of '*', and LANG is C.UTF-8 (en_US.UTF-8 in the image).
#
# Environment: PGDATA, PGBIN, BENCH_PGPORT, BENCH_SOCKDIR, BENCH_MARKS,
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB.
# Each phase appends "<name> <epoch ns>" to $BENCH_MARKS.
set -Eeo pipefail

mark() { printf '%s %s000\n' "$1" "${EPOCHREALTIME/./}" >> "$BENCH_MARKS"; }

export PATH="$PGBIN:$PATH" LANG=C.UTF-8
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
port="$BENCH_PGPORT"
sock="$BENCH_SOCKDIR"

if [ "$(id -u)" = 0 ]; then
    mark entrypoint
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p "$sock" || :
    chmod 03775 "$sock" || :
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find "$sock" \! -user postgres -exec chown postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups bash "$BASH_SOURCE" "$@"
fi

sql() {
    PGHOST="$sock" PGPORT="$port" PGHOSTADDR= \
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mark initdb_begin
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
    mark initdb_end
    auth="$(postgres -C password_encryption -D "$PGDATA")"
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
    mark conf_end

    export PGPASSWORD="$POSTGRES_PASSWORD"
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" \
        -o "-c listen_addresses='' -p $port -k $sock" -w start >/dev/null
    mark temp_started

    exists="$(sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<'EOSQL'
SELECT 1 FROM pg_database WHERE datname = :'db' ;
EOSQL
)"
    if [ -z "$exists" ]; then
        sql --dbname postgres --set db="$POSTGRES_DB" >/dev/null <<'EOSQL'
CREATE DATABASE :"db" ;
EOSQL
    fi
    mark provisioned

    PGUSER=postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    unset PGPASSWORD
    mark temp_stopped
fi

mark final_exec
exec postgres -D "$PGDATA" -p "$port" -k "$sock" -c listen_addresses=127.0.0.1
