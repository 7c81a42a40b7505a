#!/usr/bin/env bash
# Baseline (b): what Mathesar's current image does at start, written again here
# step by step (its run.sh calls db-run.sh, then migrations, then gunicorn in the
# foreground, so bash stays PID 1 and never forwards a signal):
#   first boot only (no PGDATA/PG_VERSION):
#     pg_createcluster: initdb as postgres (--auth-local peer --auth-host
#       scram-sha-256), configuration moved to a separate directory (the
#       /etc/postgresql/15/<cluster> of Debian) and edited there;
#     pg_ctlcluster start: a daemonized `pg_ctl start` with a log file;
#     psql -c "ALTER USER postgres PASSWORD 'mathesar'"; psql -c "CREATE DATABASE ...";
#     pg_ctlcluster stop (pg_ctl -m fast -w stop);
#   pg_ctlcluster start again, daemonized, with no readiness wait (-W);
#   the app in the foreground (here: "$@", the demo app).
# Differences on purpose, each in the baseline's favour: pg_ctlcluster is a Perl
# script that also polls for the socket with 0.5 s sleeps after every start,
# and Mathesar runs psql through sudo; here pg_ctl and runuser are called
# directly. Paths are under $BENCH_ROOT instead of /etc, /var/log and
# /var/run/postgresql; the port is $BENCH_PGPORT.
#
# Environment: PGDATA, PGBIN, BENCH_ROOT, BENCH_PGPORT, BENCH_SOCKDIR, BENCH_MARKS.
# Each phase appends "<name> <epoch ns>" to $BENCH_MARKS.
set -e

mark() { printf '%s %s000\n' "$1" "${EPOCHREALTIME/./}" >> "$BENCH_MARKS"; }

export PATH="$PGBIN:$PATH" LANG=C.UTF-8
port="$BENCH_PGPORT"
sock="$BENCH_SOCKDIR"
conf="$BENCH_ROOT/etc/postgresql/15/mathesar"
logdir="$BENCH_ROOT/var/log/postgresql"
log="$logdir/postgresql-15-mathesar.log"
as_pg() { runuser -u postgres -- "$@"; }

mark entrypoint
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mark initdb_begin
    # pg_createcluster -d "$PGDATA" -p 5432 -u postgres 15 mathesar
    mkdir -p "$PGDATA" "$conf" "$logdir" "$sock"
    chown postgres:postgres "$PGDATA" "$conf" "$logdir" "$sock"
    chmod 0700 "$PGDATA"
    chmod 2775 "$sock"
    as_pg initdb -D "$PGDATA" --auth-local peer --auth-host scram-sha-256 \
        --encoding UTF8 --no-instructions >/dev/null
    mark initdb_end
    mv "$PGDATA/postgresql.conf" "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf" "$conf/"
    cat >> "$conf/postgresql.conf" <<EOF
data_directory = '$PGDATA'
hba_file = '$conf/pg_hba.conf'
ident_file = '$conf/pg_ident.conf'
external_pid_file = '$sock/15-mathesar.pid'
port = $port
unix_socket_directories = '$sock'
cluster_name = '15/mathesar'
EOF
    printf 'auto\n' > "$conf/start.conf"
    printf "pg_ctl_options = ''\n" > "$conf/pg_ctl.conf"
    : > "$conf/environment"
    chown -R postgres:postgres "$conf"
    mark conf_end

    # pg_ctlcluster 15 mathesar start
    as_pg setsid pg_ctl start -D "$PGDATA" -l "$log" -s -o "-c config_file=$conf/postgresql.conf"
    mark temp_started
    as_pg psql -h "$sock" -p "$port" -c "ALTER USER postgres PASSWORD 'mathesar';" >/dev/null
    as_pg psql -h "$sock" -p "$port" -c "CREATE DATABASE mathesar_django;" >/dev/null
    mark provisioned
    # pg_ctlcluster 15 mathesar stop
    as_pg pg_ctl stop -D "$PGDATA" -s -w -m fast
    mark temp_stopped
fi
mark final_start
# pg_ctlcluster 15 mathesar start, then straight on to the app
as_pg setsid pg_ctl start -W -D "$PGDATA" -l "$log" -s -o "-c config_file=$conf/postgresql.conf"
mark final_started
"$@"
