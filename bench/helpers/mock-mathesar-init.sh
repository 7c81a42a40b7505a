#!/usr/bin/env bash
# A stand-in for mathesar-init, only to exercise the harness's code paths for
# "ours" (bundled and external mode, status.json, phase log lines with
# durations, SIGTERM shutdown) while the real binary is not built:
#
#     python3 bench/run.py --smoke --ours bench/helpers/mock-mathesar-init.sh
#
# It is not a benchmark subject and its numbers mean nothing.
set -u
[ "${1:-}" = run ] && shift
[ "${1:-}" = -- ] && shift

bin="${MATHESAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
data="${MATHESAR_DATA_DIR:-/var/lib/mathesar}"
run="${MATHESAR_RUN_DIR:-/run/mathesar}"
pgdata="${PGDATA:-$data/postgres}"
port="${POSTGRES_PORT:-5432}"
now() { local t="${EPOCHREALTIME/./}"; echo "${t}"; }
log() {  # message, start (µs): "<message> done in N ms"
    local d=$(( ($(now) - $2) / 1000 ))
    if [ "${MATHESAR_LOG_FORMAT:-text}" = json ]; then
        printf '{"time":"%s","source":"mathesar-init","level":"info","message":"%s done in %d ms"}\n' \
            "$(date -u +%FT%T.%3NZ)" "$1" "$d" >&2
    else
        printf '%s mathesar-init info: %s done in %d ms\n' "$(date -u +%FT%T.%3NZ)" "$1" "$d" >&2
    fi
}
status() { printf '{"phase":"%s"}\n' "$1" > "$run/status.json.tmp" && mv "$run/status.json.tmp" "$run/status.json"; }
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$data" "$run"
chown postgres "$run"
status booting
pg=""
if [ -z "${POSTGRES_HOST:-}" ]; then
    t=$(now)
    if [ ! -s "$pgdata/PG_VERSION" ]; then
        rm -rf "$pgdata.tmp" && mkdir -p "$pgdata.tmp" && chown postgres "$pgdata.tmp" "$data"
        as_pg "$bin/initdb" -D "$pgdata.tmp" -U postgres -A trust --auth-host=scram-sha-256 >/dev/null || exit 70
        mv "$pgdata.tmp" "$pgdata"
        log "initialize cluster" "$t"
    fi
    t=$(now)
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$pgdata" -p "$port" -k "$run" -c listen_addresses=127.0.0.1 2>"$run/pg.log" &
    pg=$!
    until "$bin/pg_isready" -q -h "$run" -p "$port"; do sleep 0.005; done
    log "start postgres" "$t"
    t=$(now)
    export POSTGRES_HOST=127.0.0.1 POSTGRES_USER=mathesar POSTGRES_PASSWORD=mock-password POSTGRES_DB=mathesar_django
    as_pg "$bin/psql" -Xq -h "$run" -p "$port" -U postgres -d postgres >/dev/null 2>&1 <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mathesar') THEN CREATE ROLE mathesar LOGIN SUPERUSER; END IF;
END \$\$;
ALTER ROLE mathesar PASSWORD 'mock-password';
SELECT 'CREATE DATABASE mathesar_django OWNER mathesar'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mathesar_django') \gexec
EOF
    log "reconcile" "$t"
else
    t=$(now)
    until "$bin/pg_isready" -q -h "$POSTGRES_HOST" -p "$port"; do sleep 0.005; done
    log "wait for database" "$t"
fi

"$@" &
app=$!
status running
stop() {
    kill -TERM "$app" 2>/dev/null
    wait "$app"
    if [ -n "$pg" ]; then kill -INT "$pg"; wait "$pg"; fi
    exit 0
}
trap stop TERM INT
for s in HUP USR1 USR2 WINCH; do trap "kill -$s $app" "$s"; done
rc=0
while kill -0 "$app" 2>/dev/null; do wait "$app"; rc=$?; done
[ -n "$pg" ] && kill -INT "$pg" && wait "$pg"
exit "$rc"
