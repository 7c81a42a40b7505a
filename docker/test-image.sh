#!/usr/bin/env bash
# Build the image with podman and prove, on real containers, what the image
# promises, with the Mathesar stand-in as the app: bundled PostgreSQL 17 +
# app from one `run` with one volume, static files collected at build (none at
# boot), clean stop, data, SECRET_KEY and stored database passwords kept when
# the container is recreated, recovery after SIGKILL, health, external-database
# mode, users and PID 1, the network surface, and a volume going from the
# release 1 image to the release 2 image with its user databases' Mathesar
# SQL upgraded at boot; then docker/test-platforms.sh: any uid, a read-only
# root, compose, and the Helm chart's manifests with podman kube play.
#
#   bash docker/test-image.sh            # from anywhere; runs as root (podman)
#
# Environment:
#   IMAGE=mathesar-init:test             tag to build and test (stand-in release 2)
#   IMAGE_RELEASE1=$IMAGE-release1       the same with stand-in release 1
#   SKIP_BUILD=1                         test an existing $IMAGE as is
#   MATHESAR_INIT_BINDIR=.build/release  host-built binaries (relative to the
#                                        repo root); the default one is rebuilt
#                                        with `swift build -c release` when
#                                        missing or older than the sources
#   PODMAN_SETUP=path/to/setup.sh        default: docker/podman-setup.sh (podman on a
#                                        machine without a registry; see that file)
#   KEEP=1                               keep containers, volumes and logs
#   PG_MAJOR=17                          the PostgreSQL major the image must bundle
#   ONLY=platforms                       build, then only docker/test-platforms.sh
#   HANG_GUARD=600                       seconds after which a wait that saw
#                                        neither its event nor an exit gives up
#
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

IMAGE=${IMAGE:-mathesar-init:test}
IMAGE_RELEASE1=${IMAGE_RELEASE1:-$IMAGE-release1}
BINDIR=${MATHESAR_INIT_BINDIR:-.build/release}
PODMAN_SETUP=${PODMAN_SETUP:-$REPO/docker/podman-setup.sh}
STOP_BUDGET=10          # the runtime's stop timeout (podman/docker default)
PG_MAJOR=${PG_MAJOR:-17}  # the PostgreSQL major version the image bundles
# Waits end on an observable event (an answer, a container exit). The guard is
# there only so that a hung boot cannot hang CI forever: it is not a time a
# check is judged by (times are reported, never compared).
HANG_GUARD=${HANG_GUARD:-600}
RUN_ID="mit-$(date +%s)-$$"
LOGDIR=${LOGDIR:-$(mktemp -d "/tmp/$RUN_ID.XXXX")}

# ---------------------------------------------------------------- plumbing
if ! declare -F pod >/dev/null; then
  # shellcheck disable=SC1090
  source "$PODMAN_SETUP" || { echo "FAIL: podman setup ($PODMAN_SETUP)"; exit 1; }
  set +eu   # the setup turns on errexit; this script checks each step itself
  set -u
fi
# podman prints systemd healthcheck-timer errors on hosts without systemd:
# keep them (and all other podman chatter) in the log, not on the terminal.
p() { pod "$@" 2>>"$LOGDIR/podman.stderr"; }
# Checks run some commands through `bash -c`: they must find these functions
# (a "command not found" there would make a negated check pass by itself).
export LOGDIR
export -f pod p

PASSED=0; FAILED=0; FAILURES=()
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$*"); echo "FAIL: $*"; }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
info() { echo "  .. $*"; }

CONTAINERS=(); VOLUMES=(); NETWORKS=()
cleanup() {
  local c v n
  for c in "${CONTAINERS[@]}"; do pod logs "$c" >"$LOGDIR/$c.log" 2>&1; done
  if [ "${KEEP:-}" = 1 ]; then
    echo "kept: containers ${CONTAINERS[*]}; volumes ${VOLUMES[*]}; logs in $LOGDIR"
    return
  fi
  for c in "${CONTAINERS[@]}"; do p rm -f -v -t 0 "$c" >/dev/null; done
  for v in "${VOLUMES[@]}"; do p volume rm -f "$v" >/dev/null; done
  for n in "${NETWORKS[@]}"; do p network rm -f "$n" >/dev/null; done
  echo "logs: $LOGDIR"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

http_get() { # http_get URL -> body on stdout, "HTTP <code>" on fd 3
  if command -v curl >/dev/null; then
    curl -s -m 5 -o - -w '\n%{http_code}' "$1"
  else
    python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.read().decode()); print(r.status)
except urllib.error.HTTPError as e:
    print(e.read().decode()); print(e.code)
except Exception:
    print(); print("000")
PY
  fi
}
http_code() { http_get "$1" | tail -n 1; }
http_body() { http_get "$1" | sed '$d'; }
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if isinstance(v,(bool,type(None))) else v)' "$1"; }

# The stand-in's web interface as a browser uses it (session cookie, CSRF
# token), from the host: `app ACTION URL JAR ...`, JAR a cookie file.
#   app setup URL JAR USER PASSWORD   /complete_installation/ makes the admin
#   app login URL JAR USER PASSWORD   logs in (exit 1 on wrong credentials)
#   app get URL JAR PATH              prints the HTTP status (no redirects followed)
#   app rpc URL JAR METHOD JSON       JSON-RPC call: prints its result, exit 1 on error
#   app upload URL JAR NAME TEXT      uploads a file as the app's data-file import does (201 expected)
APP_CLIENT=$LOGDIR/app-client.py
cat >"$APP_CLIENT" <<'PY'
import http.cookiejar, json, sys, urllib.error, urllib.parse, urllib.request

action, base, jar_path = sys.argv[1:4]
jar = http.cookiejar.MozillaCookieJar(jar_path)
try:
    jar.load(ignore_discard=True)
except FileNotFoundError:
    pass

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

def call(path, data=None, headers=None):
    req = urllib.request.Request(base + path, data=data, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers
    finally:
        jar.save(ignore_discard=True)

def csrf():
    return next((c.value for c in jar if c.name == "csrftoken"), "")

def form(path, fields):
    call(path)  # sets the csrftoken cookie
    fields = dict(fields, csrfmiddlewaretoken=csrf())
    return call(path, urllib.parse.urlencode(fields).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})

if action == "setup":
    code, body, headers = form("/complete_installation/", {"username": sys.argv[4], "password": sys.argv[5]})
    sys.exit(0 if code == 302 and headers.get("Location") == "/" else f"setup: HTTP {code} {body[:200]}")
elif action == "login":
    code, body, headers = form("/auth/login/", {"username": sys.argv[4], "password": sys.argv[5], "next": "/"})
    sys.exit(0 if code == 302 else f"login: HTTP {code}")
elif action == "get":
    print(call(sys.argv[4])[0])
elif action == "upload":
    boundary = "msiboundary7f3a"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{sys.argv[4]}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{sys.argv[5]}\r\n--{boundary}--\r\n").encode()
    code, body, _ = call("/api/ui/v0/data_files/", body,
                         {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRFToken": csrf()})
    sys.exit(0 if code == 201 else f"upload: HTTP {code} {body[:200]}")
elif action == "rpc":
    payload = json.dumps({"jsonrpc": "2.0", "id": 1, "method": sys.argv[4], "params": json.loads(sys.argv[5])})
    code, body, _ = call("/api/rpc/v0/", payload.encode(),
                         {"Content-Type": "application/json", "X-CSRFToken": csrf()})
    try:
        answer = json.loads(body)
    except ValueError:
        sys.exit(f"rpc {sys.argv[4]}: HTTP {code} {body[:200]}")
    if "error" in answer:
        sys.exit(f"rpc {sys.argv[4]}: {answer['error']}")
    print(json.dumps(answer["result"]))
PY
app() { python3 "$APP_CLIENT" "$@"; }
ADMIN_USER=admin
ADMIN_PASSWORD="admin-$RANDOM$RANDOM"
# versions recorded per user database: "name=version name=version" (sorted by id)
db_versions() { # db_versions URL JAR
  app rpc "$1" "$2" databases.configured.list '{}' |
    python3 -c 'import json,sys; print(" ".join("%s=%s" % (d["name"], d["last_confirmed_sql_version"]) for d in json.load(sys.stdin)))'
}

running() { [ "$(p inspect -f '{{.State.Running}}' "$1")" = true ]; }
base_url() { echo "http://$(p port "$1" 8000/tcp | head -n 1)"; }

run_app() { # run_app NAME [podman run options...]: detached, port 8000 published on loopback
  local name=$1; shift
  CONTAINERS+=("$name")
  p run -d --name "$name" -p 127.0.0.1::8000 "$@" >/dev/null
}

wait_http_200() { # wait_http_200 NAME PATH -> seconds since $2 on stdout
  local name=$1 path=$2 start=$3 deadline=$(( $(date +%s) + HANG_GUARD )) url
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if ! running "$name"; then
      echo "container $name exited ($(p inspect -f '{{.State.ExitCode}}' "$name"))" >&2
      pod logs "$name" 2>&1 | tail -n 30 | sed 's/^/    | /' >&2
      return 1
    fi
    url=$(base_url "$name")
    if [ "$(http_code "$url$path")" = 200 ]; then elapsed "$start"; return 0; fi
    sleep 0.2
  done
  echo "no HTTP 200 from $name$path and no exit after ${HANG_GUARD}s (hang guard): boot hangs" >&2
  pod logs "$name" 2>&1 | tail -n 30 | sed 's/^/    | /' >&2
  return 1
}

# One line per process in the container: PID PPID UID COMM ARGS
procs() {
  p exec "$1" sh -c '
    for d in /proc/[0-9]*; do
      pid=${d#/proc/}
      [ "$pid" = "$$" ] && continue
      st=$(cat "$d/status" 2>/dev/null) || continue
      ppid=$(echo "$st" | awk "/^PPid:/ {print \$2}")
      uid=$(echo "$st" | awk "/^Uid:/ {print \$2}")
      comm=$(cat "$d/comm" 2>/dev/null)
      args=$(tr "\0" " " < "$d/cmdline" 2>/dev/null)
      echo "$pid $ppid $uid $comm $args"
    done' | awk '$2 != 0 || $1 == 1' | grep -vE '^[0-9]+ [0-9]+ [0-9]+ (sh|awk|cat|tr) '
}

# Listening TCP sockets and bound UDP sockets: "tcp 0100007F:1538" etc.
listeners() {
  p exec "$1" sh -c 'for f in tcp tcp6 udp udp6; do
      [ -r /proc/net/$f ] || continue
      awk -v f=$f "NR > 1 && (f ~ /udp/ || \$4 == \"0A\") { print f, \$2 }" /proc/net/$f
    done'
}
# every non-loopback listener must be port 8000 (1F40)
only_8000_outside() {
  local bad=0 proto addr port
  while read -r proto addr; do
    port=${addr##*:}; addr=${addr%:*}
    case "$addr" in
      0100007F|00000000000000000000000001000000) continue ;;   # 127.0.0.1, ::1
    esac
    if [ "$port" != 1F40 ] || [[ $proto == udp* ]]; then
      echo "    unexpected $proto listener $addr:$((16#$port))"; bad=1
    fi
  done < <(listeners "$1")
  [ "$bad" = 0 ]
}
only_8000_at_all() { ! listeners "$1" | grep -vE '^tcp6? [0-9A-F]+:1F40$' | sed 's/^/    unexpected /' | grep .; }
has_8000() { listeners "$1" | grep -qE '^tcp6? [0-9A-F]+:1F40$'; }

controldata_state() { # controldata_state VOLUME
  p run --rm --user postgres -v "$1:/var/lib/mathesar" --entrypoint /bin/sh "$IMAGE" -c \
    'bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); exec "$bin/pg_controldata" /var/lib/mathesar/postgres' \
    | awk -F': *' '/^Database cluster state/ { print $2 }'
}

health_status() {
  local s
  s=$(p inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null)
  [ -n "$s" ] && [ "$s" != "<no value>" ] || s=$(p inspect -f '{{.State.Healthcheck.Status}}' "$1" 2>/dev/null)
  echo "$s"
}

STOP_TIMES=()
stop_clean() { # stop_clean NAME [BUDGET]
  local t0 secs code
  t0=$(now)
  p stop -t "${2:-$STOP_BUDGET}" "$1" >/dev/null
  secs=$(elapsed "$t0")
  code=$(p inspect -f '{{.State.ExitCode}}' "$1")
  info "podman stop $1: ${secs}s, exit status $code"
  STOP_TIMES+=("$secs")
  pod logs "$1" >"$LOGDIR/$1.log" 2>&1
  # 137 = SIGKILL from the runtime at the end of its budget: mathesar-init missed it.
  # Otherwise PID 1 ended the stop itself, saying so (the time is reported, not judged).
  [ "$code" != 137 ] && grep -q "exiting with status" "$LOGDIR/$1.log"
}

# ---------------------------------------------------------------- build
if [ "${SKIP_BUILD:-}" != 1 ]; then
  if [ -z "${MATHESAR_INIT_BINDIR:-}" ]; then
    rebuild=0
    for b in mathesar-init mathesar-init-db; do
      if [ ! -x "$BINDIR/$b" ] || [ -n "$(find Package.swift Sources -newer "$BINDIR/$b" -print -quit)" ]; then
        rebuild=1
      fi
    done
    if [ "$rebuild" = 1 ]; then
      echo "== swift build -c release"
      swift build -c release >"$LOGDIR/swift-build.log" 2>&1 \
        || { tail -n 40 "$LOGDIR/swift-build.log"; fail "swift build -c release"; echo "0 passed, 1 failed"; exit 1; }
    fi
  fi
  for b in mathesar-init mathesar-init-db; do
    [ -x "$BINDIR/$b" ] || { fail "$BINDIR/$b missing"; echo "0 passed, 1 failed"; exit 1; }
  done
  echo "== podman build ($IMAGE, binaries from $BINDIR)"
  build_args=(--pull=never --network host --format docker
    --ignorefile docker/Dockerfile.dockerignore
    --build-arg MATHESAR_INIT_BINARIES=prebuilt --build-arg "MATHESAR_INIT_BINDIR=$BINDIR")
  # This machine's TLS-inspecting proxy: lend its CA bundle to pip only.
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    build_args+=(--volume /etc/ssl/certs/ca-certificates.crt:/tmp/host-ca-certificates.crt:ro
      --build-arg PIP_CERT_FILE=/tmp/host-ca-certificates.crt)
  fi
  t0=$(now)
  if pod build "${build_args[@]}" -t "$IMAGE" -f docker/Dockerfile . >"$LOGDIR/build.log" 2>&1; then
    pass "image builds ($(elapsed "$t0")s)"
  else
    tail -n 40 "$LOGDIR/build.log"; fail "image builds"; echo "$PASSED passed, $FAILED failed"; exit 1
  fi
  # the same image with release 1 of the stand-in (only the app layers differ)
  t0=$(now)
  if pod build "${build_args[@]}" --build-arg STANDIN_RELEASE=1 -t "$IMAGE_RELEASE1" -f docker/Dockerfile . \
      >"$LOGDIR/build-release1.log" 2>&1; then
    pass "image with stand-in release 1 builds ($(elapsed "$t0")s)"
  else
    tail -n 40 "$LOGDIR/build-release1.log"; fail "image with stand-in release 1 builds"
  fi
fi
SIZE=$(p image inspect -f '{{.Size}}' "$IMAGE")
info "image $IMAGE: $((SIZE / 1000000)) MB"
image_healthcheck() {
  p image inspect "$IMAGE" | tr -d ' \n' | grep -q '"Healthcheck":{"Test":\["CMD","mathesar-init","healthcheck"\]'
}
check "image has HEALTHCHECK mathesar-init healthcheck" image_healthcheck
image_facts() {
  p run --rm --entrypoint /bin/sh "$IMAGE" -c '
    echo "postgres=$(id -u postgres):$(id -g postgres) mathesar=$(id -u mathesar):$(id -g mathesar)"
    echo "bindirs=$(ls -d /usr/lib/postgresql/*/bin | tr "\n" " ")"
    echo "main_cluster=$(ls -d /etc/postgresql/*/main /var/lib/postgresql/*/main 2>/dev/null | tr "\n" " ")"
    . /etc/os-release; echo "os=$VERSION_CODENAME"'
}
FACTS=$(image_facts); echo "$FACTS" | sed 's/^/    image| /'
check "image: postgres is 999:999 and mathesar 1000:1000 (pinned)" \
  grep -qx 'postgres=999:999 mathesar=1000:1000' <<<"$FACTS"
check "image: PostgreSQL $PG_MAJOR is the only server (/usr/lib/postgresql/$PG_MAJOR/bin)" \
  grep -qx "bindirs=/usr/lib/postgresql/$PG_MAJOR/bin " <<<"$FACTS"
check "image: no \"main\" cluster from the package" grep -qx 'main_cluster=' <<<"$FACTS"

summary() {
  echo
  echo "image $IMAGE: $((SIZE / 1000000)) MB; podman run -> first HTTP 200 (fresh volume, initdb included): ${FIRST_200:-n/a}s; podman stop: ${STOP_TIMES[*]:-n/a} s"
  if [ "$FAILED" -gt 0 ]; then
    printf 'failed: %s\n' "${FAILURES[@]}"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}
# ONLY=platforms: the build, then only docker/test-platforms.sh (any uid,
# read-only root, compose, kube play), for working on those.
if [ "${ONLY:-}" = platforms ]; then
  # shellcheck source=docker/test-platforms.sh
  source "$REPO/docker/test-platforms.sh"
  summary; exit
fi

VOL=$RUN_ID-data; VOLUMES+=("$VOL"); p volume create "$VOL" >/dev/null

# ---------------------------------------------------------------- 1. first run
echo "== first run: bundled PostgreSQL, fresh volume"
C1=$RUN_ID-first
t0=$(now)
run_app "$C1" -v "$VOL:/var/lib/mathesar" "$IMAGE"
if secs=$(wait_http_200 "$C1" /standin/version/ "$t0"); then
  pass "first run: HTTP 200 on :8000/standin/version/ ${secs}s after podman run"; FIRST_200=$secs
  URL=$(base_url "$C1"); JAR1=$LOGDIR/first.cookies
  check "first run: the app serves its static files (collected at build)" \
    test "$(app get "$URL" "$JAR1" /static/mathesar/app.css)" = 200
  check "first run: no static files collected at boot (no 'Deleting' line)" \
    bash -c '! pod logs "$1" 2>&1 | grep -E "Deleting|static files? copied"' _ "$C1"
  check "first run: / redirects to the login without a session ($(app get "$URL" "$JAR1" /))" \
    test "$(app get "$URL" "$JAR1" /)" = 302
  check "first run: /complete_installation/ makes the admin" app setup "$URL" "$JAR1" "$ADMIN_USER" "$ADMIN_PASSWORD"
  created=$(app rpc "$URL" "$JAR1" databases.setup.create_new '{"database": "sales"}'); info "create_new: $created"
  check "first run: \"create new database\" on the internal server (sales)" test -n "$created"
  DBHOST1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["host"])' <<<"$created" 2>/dev/null)
  check "first run: the app's internal server is inside the container (host ${DBHOST1:-?})" \
    bash -c 'case "$1" in /*|127.0.0.1|localhost|::1) exit 0 ;; *) exit 1 ;; esac' _ "$DBHOST1"
  VERSIONS1=$(db_versions "$URL" "$JAR1"); info "recorded SQL versions: $VERSIONS1"
  check "first run: sales records the app's SQL version ($VERSIONS1)" test "$VERSIONS1" = "sales=0.11.0"
  check "first run: logged in: / answers 200" test "$(app get "$URL" "$JAR1" /)" = 200
  check "first run: a CSV upload is accepted" app upload "$URL" "$JAR1" people.csv "name,city"
  check "first run: the upload lands in the volume (MEDIA_ROOT under /var/lib/mathesar)" \
    p exec "$C1" test -f "/var/lib/mathesar/media/$ADMIN_USER/people.csv"
  KEY1=$(p exec "$C1" sha256sum /var/lib/mathesar/secrets/secret_key | cut -c1-16)
  check "first run: SECRET_KEY generated (50 chars)" \
    test "$(p exec "$C1" sh -c 'tr -d "\n" < /var/lib/mathesar/secrets/secret_key | wc -c')" = 50
  check "first run: secret persisted with mode 0600" \
    test "$(p exec "$C1" stat -c %a /var/lib/mathesar/secrets/secret_key)" = 600
  pgv=$(p exec "$C1" cat /var/lib/mathesar/postgres/PG_VERSION)
  check "first run: the cluster in the volume is PostgreSQL $PG_MAJOR (PG_VERSION $pgv)" test "$pgv" = "$PG_MAJOR"

  PS=$(procs "$C1"); echo "$PS" | sed 's/^/    ps| /'
  # the postmaster: the postgres process whose parent is PID 1 (its argv[0])
  pmexe=$(echo "$PS" | awk '$2 == 1 && $4 == "postgres" { print $5; exit }')
  check "first run: the server runs ${pmexe:-nothing}" test "$pmexe" = "/usr/lib/postgresql/$PG_MAJOR/bin/postgres"
  APP_UID=$(p exec "$C1" id -u mathesar); PG_UID=$(p exec "$C1" id -u postgres)
  check "PID 1 is mathesar-init" \
    test "$(p exec "$C1" cat /proc/1/comm)" = mathesar-init
  # PID 1 holds both secrets and is not dumpable: even root in the container
  # (no CAP_SYS_PTRACE) cannot open its /proc/1/exe, mem or environ.
  check "PID 1 is not dumpable (/proc/1/environ closed to root in the container)" \
    bash -c '! p exec "$1" cat /proc/1/environ >/dev/null 2>&1' _ "$C1"
  check "app (gunicorn) runs as mathesar" bash -c '
    g=$(echo "$1" | awk "\$4 == \"gunicorn\""); [ -n "$g" ] && ! echo "$g" | awk -v u="$2" "\$3 != u" | grep -q .' _ "$PS" "$APP_UID"
  check "PostgreSQL runs as postgres, postmaster a direct child of PID 1" bash -c '
    pg=$(echo "$1" | awk "\$4 == \"postgres\""); [ -n "$pg" ] &&
    ! echo "$pg" | awk -v u="$2" "\$3 != u" | grep -q . &&
    echo "$pg" | awk "\$2 == 1" | grep -q .' _ "$PS" "$PG_UID"
  check "no process but mathesar-init runs as root" \
    bash -c '! echo "$1" | awk "\$3 == 0 && \$4 !~ /^mathesar-init/" | grep .' _ "$PS"

  listeners "$C1" | sed 's/^/    net| /'
  check "network: :8000 is listening" has_8000 "$C1"
  check "network: nothing else listens outside loopback" only_8000_outside "$C1"

  hc=$(pod exec "$C1" mathesar-init healthcheck 2>&1); rc=$?
  hc=$(printf '%s\n' "$hc" | grep -v 'level=error' | tail -n 1)
  check "mathesar-init healthcheck exits 0 ($hc)" test "$rc" = 0
  p healthcheck run "$C1" >/dev/null
  check "podman health status is healthy ($(health_status "$C1"))" test "$(health_status "$C1")" = healthy
else
  fail "first run: HTTP 200 on :8000/standin/version/"
fi

# ---------------------------------------------------------------- 2. clean stop
echo "== podman stop"
check "stop: mathesar-init ends it itself, no SIGKILL from the runtime" stop_clean "$C1"
check "stop: gunicorn's master stopped its own workers (no 'was sent SIGTERM'; $(pod logs "$C1" 2>&1 | grep -c 'Booting worker') workers)" \
  bash -c '! pod logs "$1" 2>&1 | grep -q "was sent SIGTERM"' _ "$C1"
state=$(controldata_state "$VOL")
check "pg_controldata after stop: '$state'" test "$state" = "shut down"

# ---------------------------------------------------------------- 3. second run
echo "== second run: same volume"
C2=$RUN_ID-second
t0=$(now)
run_app "$C2" -v "$VOL:/var/lib/mathesar" "$IMAGE"
if secs=$(wait_http_200 "$C2" /standin/version/ "$t0"); then
  pass "second run: HTTP 200 ${secs}s after podman run"
  URL=$(base_url "$C2")
  check "recreate: same SECRET_KEY in the volume" \
    test "$(p exec "$C2" sha256sum /var/lib/mathesar/secrets/secret_key | cut -c1-16)" = "${KEY1:-missing}"
  # Django's session carries an HMAC of the key: a new key logs everybody out
  check "recreate: the first run's session is still logged in (/ answers 200)" \
    test "$(app get "$URL" "$JAR1" /)" = 200
  # upgrade_sql without credentials connects with the stored, encrypted password
  check "recreate: the stored database password still decrypts (upgrade_sql on sales)" \
    app rpc "$URL" "$JAR1" databases.upgrade_sql '{"database_id": 1}'
  JAR2=$LOGDIR/second.cookies
  check "recreate: data kept (the admin logs in)" app login "$URL" "$JAR2" "$ADMIN_USER" "$ADMIN_PASSWORD"
  check "recreate: data kept (sales is still configured)" test "$(db_versions "$URL" "$JAR2")" = "sales=0.11.0"
  check "recreate: the upload survived the container (same content in the volume)" \
    test "$(p exec "$C2" cat "/var/lib/mathesar/media/$ADMIN_USER/people.csv" 2>/dev/null)" = "name,city"
  check "recreate: no static files collected at boot (no 'Deleting' line)" \
    bash -c '! pod logs "$1" 2>&1 | grep -E "Deleting|static files? copied"' _ "$C2"
  if ! pod logs "$C2" 2>&1 | grep -qiE 'not properly shut down|automatic recovery'; then
    pass "second run: PostgreSQL started without crash recovery"
  else
    fail "second run: PostgreSQL started without crash recovery"
  fi
  # committed just before the SIGKILL below
  created2=$(app rpc "$URL" "$JAR2" databases.setup.create_new '{"database": "hr"}')
  check "second run: create hr, committed before the SIGKILL" test -n "$created2"
else
  fail "second run: HTTP 200"
fi

# ---------------------------------------------------------------- 4. SIGKILL, then run again
echo "== podman kill -s KILL, then run again"
p kill -s KILL "$C2" >/dev/null
p wait "$C2" >/dev/null
info "pg_controldata after SIGKILL: '$(controldata_state "$VOL")'"
C3=$RUN_ID-third
t0=$(now)
run_app "$C3" -v "$VOL:/var/lib/mathesar" "$IMAGE"
if secs=$(wait_http_200 "$C3" /standin/version/ "$t0"); then
  pass "after SIGKILL: recovers, HTTP 200 ${secs}s after podman run"
  URL=$(base_url "$C3"); JAR3=$LOGDIR/third.cookies
  app login "$URL" "$JAR3" "$ADMIN_USER" "$ADMIN_PASSWORD"
  v3=$(db_versions "$URL" "$JAR3")
  check "after SIGKILL: committed rows kept ($v3)" test "$v3" = "sales=0.11.0 hr=0.11.0"
  check "after SIGKILL: same SECRET_KEY" \
    test "$(p exec "$C3" sha256sum /var/lib/mathesar/secrets/secret_key | cut -c1-16)" = "${KEY1:-missing}"
  check "after SIGKILL: stop is clean again (no SIGKILL from the runtime)" stop_clean "$C3"
  state=$(controldata_state "$VOL")
  check "pg_controldata after the stop: '$state'" test "$state" = "shut down"
else
  fail "after SIGKILL: recovers"
fi

# ---------------------------------------------------------------- 5. external mode
echo "== external PostgreSQL in a second container"
NET=$RUN_ID-net; NETWORKS+=("$NET"); p network create "$NET" >/dev/null
PG=$RUN_ID-pg; CONTAINERS+=("$PG")
PGVOL=$RUN_ID-pgdata; VOLUMES+=("$PGVOL")
APPVOL=$RUN_ID-appdata; VOLUMES+=("$APPVOL")
EXT_PASSWORD="ext-$RANDOM$RANDOM-pass"
# The image's own PostgreSQL, without mathesar-init: initdb, a role that owns
# its database (not a superuser), then postgres as PID 1 on all addresses.
p run -d --name "$PG" --network "$NET" -v "$PGVOL:/var/lib/mathesar" \
  -e EXT_PASSWORD="$EXT_PASSWORD" --entrypoint /bin/sh "$IMAGE" -c '
  set -e
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  D=/var/lib/mathesar/external
  install -d -o postgres -g postgres -m 0700 "$D"
  as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
  as_pg "$bin/initdb" -D "$D" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$D/pg_hba.conf"
  install -d -o postgres -g postgres -m 0700 /tmp/setup
  as_pg "$bin/pg_ctl" -D "$D" -w -o "-c listen_addresses= -k /tmp/setup" start >/dev/null
  as_pg "$bin/psql" -h /tmp/setup -U postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE mathesar LOGIN PASSWORD '"'"'$EXT_PASSWORD'"'"'" \
    -c "CREATE DATABASE mathesar_django OWNER mathesar"
  as_pg "$bin/pg_ctl" -D "$D" -w -m fast stop >/dev/null
  exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$bin/postgres" -D "$D" -c "listen_addresses=*" -c unix_socket_directories=/tmp' >/dev/null
deadline=$(( $(date +%s) + HANG_GUARD ))
# TCP: only the final server listens there (the setup one has a socket only)
until p exec "$PG" sh -c 'pg_isready -q -h 127.0.0.1' 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] && running "$PG" || break
  sleep 0.5
done
check "external server is up" p exec "$PG" sh -c 'pg_isready -q -h 127.0.0.1'

CX=$RUN_ID-external
t0=$(now)
run_app "$CX" --network "$NET" -v "$APPVOL:/var/lib/mathesar" \
  -e POSTGRES_HOST="$PG" -e POSTGRES_PASSWORD="$EXT_PASSWORD" "$IMAGE"
if secs=$(wait_http_200 "$CX" /standin/version/ "$t0"); then
  pass "external: HTTP 200 ${secs}s after podman run"
  URL=$(base_url "$CX"); JARX=$LOGDIR/external.cookies
  check "external: /complete_installation/ makes the admin" app setup "$URL" "$JARX" "$ADMIN_USER" "$ADMIN_PASSWORD"
  rows=$(p exec "$PG" sh -c 'psql -h /tmp -U postgres -d mathesar_django -Atc "SELECT username FROM auth_user"')
  check "external: the app's rows land in $PG (auth_user: ${rows:-none})" test "$rows" = "$ADMIN_USER"
  PSX=$(procs "$CX"); echo "$PSX" | sed 's/^/    ps| /'
  check "external: bundled PostgreSQL never started (no process)" \
    bash -c '! echo "$1" | awk "\$4 == \"postgres\"" | grep -q .' _ "$PSX"
  check "external: bundled PostgreSQL never started (no cluster in the volume)" \
    p exec "$CX" sh -c '! test -e /var/lib/mathesar/postgres/PG_VERSION'
  check "external: nothing listens but :8000, not even on loopback" only_8000_at_all "$CX"
  p healthcheck run "$CX" >/dev/null
  check "external: health status is healthy ($(health_status "$CX"))" test "$(health_status "$CX")" = healthy
  check "external: stop ends without SIGKILL from the runtime" stop_clean "$CX"
else
  fail "external: HTTP 200"
fi
pod logs "$CX" 2>&1 | grep -q "$EXT_PASSWORD" && fail "external: password appears in the logs" \
  || pass "external: password never in the logs"

CW=$RUN_ID-wrongpw; CONTAINERS+=("$CW")
p run --name "$CW" --network "$NET" -e POSTGRES_HOST="$PG" -e POSTGRES_PASSWORD=wrong \
  -e MATHESAR_DB_WAIT_TIMEOUT=5 "$IMAGE" >"$LOGDIR/$CW.out" 2>&1
code=$(p inspect -f '{{.State.ExitCode}}' "$CW")
check "external: wrong password exits 69 (got $code)" test "$code" = 69

# ---------------------------------------------------------------- 6. release 1 -> release 2
# wait_sql_upgrades NAME DB...: until mathesar-init has logged the SQL upgrade
# (or its warning) of every DB, said it will not upgrade, or the container
# exited. Prints what ended the wait.
wait_sql_upgrades() {
  local name=$1 deadline=$(( $(date +%s) + HANG_GUARD )) db logs missing; shift
  while :; do
    logs=$(pod logs "$name" 2>&1)
    missing=""
    for db in "$@"; do grep -qE "schema: $db( |:|$)" <<<"$logs" || missing="$missing $db"; done
    if [ -z "$missing" ]; then echo "every database's upgrade logged"; return 0; fi
    if grep -q "MATHESAR_SQL_UPGRADE_COMMAND is ignored" <<<"$logs"; then
      echo "mathesar-init ignores MATHESAR_SQL_UPGRADE_COMMAND (no upgrade will run; not logged:$missing)"; return 1
    fi
    running "$name" || { echo "container exited (not logged:$missing)"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "hang guard: not logged after ${HANG_GUARD}s:$missing"; return 1; }
    sleep 0.5
  done
}

echo "== release 1 image, then release 2 image, on one volume"
VR=$RUN_ID-releases; VOLUMES+=("$VR"); p volume create "$VR" >/dev/null
CR1=$RUN_ID-release1
run_app "$CR1" -v "$VR:/var/lib/mathesar" "$IMAGE_RELEASE1"
if secs=$(wait_http_200 "$CR1" /standin/version/ "$(now)"); then
  URL=$(base_url "$CR1"); JARR=$LOGDIR/releases.cookies
  r1=$(http_body "$URL/standin/version/")
  check "release 1 image: the app is release 1 ($r1)" test "$r1" = 0.10.0
  app setup "$URL" "$JARR" "$ADMIN_USER" "$ADMIN_PASSWORD"
  for db in sales hr crm; do
    app rpc "$URL" "$JARR" databases.setup.create_new "{\"database\": \"$db\"}" >/dev/null
  done
  vr1=$(db_versions "$URL" "$JARR")
  check "release 1 image: three user databases record 0.10.0 ($vr1)" test "$vr1" = "sales=0.10.0 hr=0.10.0 crm=0.10.0"
  check "release 1 image: stop is clean" stop_clean "$CR1"
  CR2=$RUN_ID-release2
  t0=$(now)
  run_app "$CR2" -v "$VR:/var/lib/mathesar" "$IMAGE"
  if secs=$(wait_http_200 "$CR2" /standin/version/ "$t0"); then
    pass "release 2 image on the release 1 volume: HTTP 200 ${secs}s after podman run"
    URL=$(base_url "$CR2")
    r2=$(http_body "$URL/standin/version/")
    check "release 2 image: the app is release 2 ($r2)" test "$r2" = 0.11.0
    why=$(wait_sql_upgrades "$CR2" sales hr crm); info "SQL upgrade wait ended: $why"
    pod logs "$CR2" 2>&1 | grep -E "schema: " | sed 's/^/    log| /'
    vr2=$(db_versions "$URL" "$JARR")
    check "release 2 image: after the boot every user database records 0.11.0 ($vr2)" \
      test "$vr2" = "sales=0.11.0 hr=0.11.0 crm=0.11.0"
    check "release 2 image: stop is clean" stop_clean "$CR2"
  else
    fail "release 2 image on the release 1 volume: HTTP 200"
  fi
else
  fail "release 1 image: HTTP 200"
fi

# ---------------------------------------------------------------- 7. docker/mathesar.Dockerfile
# Mathesar's own image cannot be pulled or built here. Its stand-in as the base:
# this image with the stand-in in /code, minus what mathesar.Dockerfile must
# add itself (the mathesar user, collected static files, mathesar-init's
# settings), plus the official image's two VOLUMEs. Every instruction of
# mathesar.Dockerfile then runs, and the result boots with its volume at
# /var/lib/postgresql (the stand-in, not Mathesar, answers).
echo "== docker/mathesar.Dockerfile on a base laid out like Mathesar's image"
STUB_BASE=$IMAGE-official-layout; MIMAGE=$IMAGE-mathesar-dockerfile
mkdir -p "$LOGDIR/official-layout"
cat >"$LOGDIR/official-layout/Dockerfile" <<EOF
FROM $IMAGE
RUN userdel mathesar && rm -rf /home/mathesar /code/static && ! getent group mathesar \
 && ln -s /opt/standin/venv/bin/python /usr/local/bin/python && ln -s /opt/standin/venv/bin/gunicorn /usr/local/bin/gunicorn
ENV MATHESAR_APP_USER= MATHESAR_MIGRATE_COMMAND= MATHESAR_SQL_UPGRADE_COMMAND= SKIP_STATIC_COLLECTION= DJANGO_SETTINGS_MODULE=
VOLUME /etc/postgresql/ /var/lib/postgresql/
ENTRYPOINT []
CMD ["bash"]
EOF
if p build --pull=never --format docker -t "$STUB_BASE" "$LOGDIR/official-layout" >"$LOGDIR/build-official-layout.log" 2>&1 &&
   p build --pull=never --format docker --ignorefile docker/mathesar.Dockerfile.dockerignore \
     --build-arg MATHESAR_INIT_BINARIES=prebuilt --build-arg "MATHESAR_INIT_BINDIR=$BINDIR" \
     --build-arg "MATHESAR_IMAGE=$STUB_BASE" -t "$MIMAGE" -f docker/mathesar.Dockerfile . \
     >"$LOGDIR/build-mathesar-dockerfile.log" 2>&1; then
  pass "docker/mathesar.Dockerfile builds on it (every instruction runs)"
  MVOL=$RUN_ID-mathesar-layout; VOLUMES+=("$MVOL"); p volume create "$MVOL" >/dev/null
  CM=$RUN_ID-mathesar-layout
  t0=$(now)
  run_app "$CM" -v "$MVOL:/var/lib/postgresql" "$MIMAGE"
  if secs=$(wait_http_200 "$CM" /standin/version/ "$t0"); then
    pass "mathesar.Dockerfile image: HTTP 200 ${secs}s after podman run"
    check "mathesar.Dockerfile image: cluster at /var/lib/postgresql/mathesar (PostgreSQL $PG_MAJOR)" \
      test "$(p exec "$CM" cat /var/lib/postgresql/mathesar/PG_VERSION)" = "$PG_MAJOR"
    check "mathesar.Dockerfile image: static files served, none collected at boot" bash -c '
      [ "$(python3 "$1" get "$2" "$3" /static/mathesar/app.css)" = 200 ] &&
      ! pod logs "$4" 2>&1 | grep -E "Deleting|static files? copied"' _ "$APP_CLIENT" "$(base_url "$CM")" "$LOGDIR/m.cookies" "$CM"
    check "mathesar.Dockerfile image: gunicorn runs as mathesar (uid 1000)" bash -c '
      g=$(echo "$1" | awk "\$4 == \"gunicorn\""); [ -n "$g" ] && ! echo "$g" | awk "\$3 != 1000" | grep -q .' _ "$(procs "$CM")"
    check "mathesar.Dockerfile image: stop is clean" stop_clean "$CM"
  else
    fail "mathesar.Dockerfile image: HTTP 200"
  fi
else
  tail -n 20 "$LOGDIR/build-official-layout.log" "$LOGDIR/build-mathesar-dockerfile.log"
  fail "docker/mathesar.Dockerfile builds on it (every instruction runs)"
fi

# ---------------------------------------------------------------- 8-11. other platforms
# shellcheck source=docker/test-platforms.sh
source "$REPO/docker/test-platforms.sh"

# ---------------------------------------------------------------- summary
summary
