#!/usr/bin/env bash
# Baseline of figure 9: Mathesar's own image flow with its real app steps,
# `bin/mathesar run -fnse` written again step by step, for the stand-in app:
#   first boot only (no PGDATA/PG_VERSION): initdb as postgres (fsync on, as
#     pg_createcluster runs it), the server daemonized with `pg_ctl -w start`
#     (pg_ctlcluster waits too), the password set and the database created with
#     psql;
#   every later boot: the same daemonized start;
#   every boot: `python -m mathesar.install` (the migrate), then
#   exec gunicorn (it becomes PID 1; the server stays a daemon beside it).
# In the baseline's favour: pg_ctl and setpriv are called directly (no
# pg_ctlcluster Perl, no sudo), and the configuration stays in PGDATA.
#
# Environment: PGBIN, PGDATA, BENCH_SOCKDIR, BENCH_PGPORT, BENCH_MARKS,
# BENCH_PYTHON (the stand-in venv's python); the app's POSTGRES_* are set here
# as Mathesar's script sets them. Arguments: the gunicorn command.
# Each step appends "<name> <epoch ns>" to $BENCH_MARKS.
set -e

mark() { printf '%s %s000\n' "$1" "${EPOCHREALTIME/./}" >> "$BENCH_MARKS"; }
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

sock="$BENCH_SOCKDIR"
port="$BENCH_PGPORT"
opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$sock"

mark entrypoint
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mark initdb_begin
    mkdir -p "$PGDATA" "$sock"
    chown postgres:postgres "$PGDATA" "$sock"
    chmod 0700 "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 --no-instructions >/dev/null
    mark initdb_end
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -s -l "$sock/server.log" -o "$opts" start
    mark db_started
    as_pg "$PGBIN/psql" -X -q -h "$sock" -p "$port" -U postgres -d postgres \
        -c "ALTER USER postgres PASSWORD 'mathesar'" -c "CREATE DATABASE mathesar_django"
    mark provisioned
else
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -s -l "$sock/server.log" -o "$opts" start
    mark db_started
fi
export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT="$port" POSTGRES_USER=postgres POSTGRES_PASSWORD=mathesar \
    POSTGRES_DB=mathesar_django
"$BENCH_PYTHON" -m mathesar.install --skip-confirm
mark migrated
exec "$@"
