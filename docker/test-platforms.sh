# Sourced by docker/test-image.sh (its plumbing: pod, p, check, run_app,
# wait_http_200, stop_clean, procs, app, ...): the image on the platforms
# beyond one `podman run` as root:
#   8. any uid: --user 12345:0 (no passwd entry, gid 0), bundled PostgreSQL
#   9. a read-only root: --read-only, tmpfs for the run directory and /tmp
#  10. docker/compose.yml with podman-compose, both profiles
#  11. the Helm chart's rendered manifests with `podman kube play`: an
#      external PostgreSQL pod, the migrate Job's pod, a Deployment of 2
#
# A stand-in for the official postgres image (its interface: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, data in /var/lib/postgresql/data,
# pg_isready), built FROM the image under test: no registry here.

HELM_PYTHON=${HELM_PYTHON:-$REPO/.cache/helm-venv/bin/python}
# PARTS="kube" (say) runs only those parts, for working on one
part() { [[ " ${PARTS:-uid readonly compose kube} " == *" $1 "* ]]; }
PG_IMAGE=$IMAGE-postgres

controldata_as() { # controldata_as USER VOLUME
  p run --rm --user "$1" -v "$2:/var/lib/mathesar" --entrypoint /bin/sh "$IMAGE" -c \
    'bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); exec "$bin/pg_controldata" /var/lib/mathesar/postgres' \
    | awk -F': *' '/^Database cluster state/ { print $2 }'
}
clean_exit() { # clean_exit NAME: ended by mathesar-init itself (not the runtime's SIGKILL)
  local code; code=$(p inspect -f '{{.State.ExitCode}}' "$1")
  pod logs "$1" >"$LOGDIR/$1.log" 2>&1
  info "$1: exit status $code"
  [ "$code" != 137 ] && grep -q "exiting with status" "$LOGDIR/$1.log" && return 0
  grep -E "SIGTERM|did not stop|exiting with|Shutting down" "$LOGDIR/$1.log" | tail -n 6 | sed 's/^/    | /'
  return 1
}
wait_url_200() { # wait_url_200 URL CONTAINER: until URL answers 200, or CONTAINER stops
  local deadline=$(( $(date +%s) + HANG_GUARD ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(http_code "$1")" = 200 ] && return 0
    running "$2" || { pod logs "$2" 2>&1 | tail -n 20 | sed 's/^/    | /' >&2; return 1; }
    sleep 0.2
  done
  return 1
}

# What these runs check is that the stop is orderly (PID 1 ends it, the cluster is
# shut down), not how fast five gunicorn workers exit on a busy machine (over
# 6.3 s was seen beside other jobs): a roomy budget (the default one is checked above).
ROOMY_STOP=(-e MATHESAR_STOP_TIMEOUT=30)
ROOMY_BUDGET=40

# ---------------------------------------------------------------- 8. any uid
if part uid; then
echo "== --user 12345:0: a uid with no passwd entry, gid 0, bundled PostgreSQL"
VU=$RUN_ID-uid; VOLUMES+=("$VU"); p volume create "$VU" >/dev/null
CU=$RUN_ID-uid
t0=$(now)
# --passwd=false: podman would otherwise add a passwd line for the uid itself
# (Docker and Kubernetes do not)
run_app "$CU" --user 12345:0 --passwd=false "${ROOMY_STOP[@]}" -v "$VU:/var/lib/mathesar" "$IMAGE"
if secs=$(wait_http_200 "$CU" /standin/version/ "$t0"); then
  pass "--user 12345:0: HTTP 200 ${secs}s after podman run (fresh volume)"; UID_200=$secs
  URL=$(base_url "$CU"); JARU=$LOGDIR/uid.cookies
  check "--user 12345:0: the image has no passwd entry for the uid" bash -c '! p exec "$1" getent passwd 12345' _ "$CU"
  check "--user 12345:0: PostgreSQL's programs got theirs from nss_wrapper (logged)" \
    bash -c 'pod logs "$1" 2>&1 | grep -q "uid 12345 has no passwd entry: PostgreSQL.s programs get one from nss_wrapper"' _ "$CU"
  check "--user 12345:0: /complete_installation/ makes the admin" app setup "$URL" "$JARU" "$ADMIN_USER" "$ADMIN_PASSWORD"
  check "--user 12345:0: \"create new database\" on the bundled server" \
    test -n "$(app rpc "$URL" "$JARU" databases.setup.create_new '{"database": "sales"}')"
  PSU=$(procs "$CU"); echo "$PSU" | sed 's/^/    ps| /'
  check "--user 12345:0: PostgreSQL and gunicorn run, every process as uid 12345" bash -c '
    echo "$1" | awk "\$4 == \"postgres\"" | grep -q . && echo "$1" | awk "\$4 == \"gunicorn\"" | grep -q . &&
    ! echo "$1" | awk "\$3 != 12345" | grep .' _ "$PSU"
  hc=$(p exec "$CU" mathesar-init healthcheck 2>&1); rc=$?
  check "--user 12345:0: mathesar-init healthcheck exits 0 ($(tail -n 1 <<<"$hc"))" test "$rc" = 0
  check "--user 12345:0: stop is clean" stop_clean "$CU" "$ROOMY_BUDGET"
  state=$(controldata_as 12345:0 "$VU")
  check "--user 12345:0: pg_controldata after stop: '$state'" test "$state" = "shut down"
else
  fail "--user 12345:0: HTTP 200"
fi

fi

# ---------------------------------------------------------------- 9. read-only root
if part readonly; then
echo "== --read-only: tmpfs for the run directory and /tmp, the volume for data"
VRO=$RUN_ID-readonly; VOLUMES+=("$VRO"); p volume create "$VRO" >/dev/null
CRO=$RUN_ID-readonly
t0=$(now)
# --read-only-tmpfs=false: only the two tmpfs given here are writable (podman
# would otherwise add /run, /tmp and /var/tmp by itself)
run_app "$CRO" --read-only --read-only-tmpfs=false --tmpfs /run/mathesar --tmpfs /tmp "${ROOMY_STOP[@]}" \
  -v "$VRO:/var/lib/mathesar" "$IMAGE"
if secs=$(wait_http_200 "$CRO" /standin/version/ "$t0"); then
  pass "--read-only: HTTP 200 ${secs}s after podman run (fresh volume)"; RO_200=$secs
  URL=$(base_url "$CRO"); JARR=$LOGDIR/readonly.cookies
  check "--read-only: the root filesystem refuses writes" bash -c '! p exec "$1" touch /etc/probe /code/probe /var/tmp/probe 2>/dev/null' _ "$CRO"
  check "--read-only: /complete_installation/ makes the admin" app setup "$URL" "$JARR" "$ADMIN_USER" "$ADMIN_PASSWORD"
  check "--read-only: an upload lands in the volume" bash -c '
    python3 "$1" upload "$2" "$3" people.csv "name,city" && p exec "$4" test -f /var/lib/mathesar/media/$5/people.csv' \
    _ "$APP_CLIENT" "$URL" "$JARR" "$CRO" "$ADMIN_USER"
  check "--read-only: stop is clean" stop_clean "$CRO" "$ROOMY_BUDGET"
  state=$(controldata_state "$VRO")
  check "--read-only: pg_controldata after stop: '$state'" test "$state" = "shut down"
else
  fail "--read-only: HTTP 200"
fi

fi

# ---------------------------------------------------------------- the postgres stand-in
mkdir -p "$LOGDIR/postgres-image"
cat >"$LOGDIR/postgres-image/entrypoint.sh" <<'SH'
#!/bin/sh
# The official postgres image's interface, from this image's PostgreSQL.
set -e
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
D=/var/lib/postgresql/data
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
install -d -o postgres -g postgres -m 0700 "$D"
install -d -o postgres -g postgres -m 2775 /var/run/postgresql
if [ ! -s "$D/PG_VERSION" ]; then
  as_pg "$bin/initdb" -D "$D" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$D/pg_hba.conf"
  as_pg "$bin/pg_ctl" -D "$D" -w -o "-c listen_addresses=" start >/dev/null
  as_pg "$bin/psql" -U postgres -v ON_ERROR_STOP=1 -q -v pw="$POSTGRES_PASSWORD" -v u="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"u" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"u";
SQL
  as_pg "$bin/pg_ctl" -D "$D" -w -m fast stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$D" -c "listen_addresses=*"
SH
cat >"$LOGDIR/postgres-image/Dockerfile" <<EOF
FROM $IMAGE
COPY entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN chmod 0755 /usr/local/bin/postgres-entrypoint
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
CMD []
EOF
check "the postgres stand-in image builds ($PG_IMAGE)" \
  p build --pull=never --format docker -t "$PG_IMAGE" "$LOGDIR/postgres-image"
pg_sql() { # pg_sql CONTAINER DB SQL
  p exec "$1" psql -U postgres -d "$2" -Atc "$3"
}

# ---------------------------------------------------------------- 10. compose
if part compose; then
echo "== docker/compose.yml with podman-compose ($(podman-compose version 2>/dev/null | awk '/podman-composer? version/ {print $NF; exit}'))"
if command -v podman-compose >/dev/null; then
  PROJECT=${RUN_ID//-/}
  COMPOSE_PW="compose-$RANDOM$RANDOM"
  compose() {
    MATHESAR_IMAGE=$IMAGE POSTGRES_IMAGE=$PG_IMAGE POSTGRES_PASSWORD=$COMPOSE_PW MATHESAR_STOP_TIMEOUT=30 \
      MATHESAR_PORT=$CPORT MATHESAR_EXTERNAL_PORT=$CXPORT \
      podman-compose -p "$PROJECT" -f docker/compose.yml "$@" >>"$LOGDIR/compose.log" 2>&1
  }
  CPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  CXPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # bundled (the default service)
  t0=$(now)
  compose up -d --no-build mathesar
  CB=${PROJECT}_mathesar_1; CONTAINERS+=("$CB")
  if wait_url_200 "http://127.0.0.1:$CPORT/standin/version/" "$CB"; then
    pass "compose (bundled): HTTP 200 on :$CPORT $(elapsed "$t0")s after up"
    check "compose (bundled): the admin is made" app setup "http://127.0.0.1:$CPORT" "$LOGDIR/cb.cookies" "$ADMIN_USER" "$ADMIN_PASSWORD"
    check "compose (bundled): the cluster is in the named volume" p exec "$CB" test -s /var/lib/mathesar/postgres/PG_VERSION
  else
    fail "compose (bundled): HTTP 200 on :$CPORT"
  fi
  compose stop -t "$ROOMY_BUDGET" mathesar
  check "compose (bundled): stop -t $ROOMY_BUDGET is clean" clean_exit "$CB"
  # external: the postgres service, and the app service that uses it
  t0=$(now)
  compose up -d --no-build postgres mathesar-external
  CP=${PROJECT}_postgres_1 CX2=${PROJECT}_mathesar-external_1; CONTAINERS+=("$CP" "$CX2")
  if wait_url_200 "http://127.0.0.1:$CXPORT/standin/version/" "$CX2"; then
    pass "compose (external): HTTP 200 on :$CXPORT $(elapsed "$t0")s after up"
    check "compose (external): the admin is made" app setup "http://127.0.0.1:$CXPORT" "$LOGDIR/cx.cookies" "$ADMIN_USER" "$ADMIN_PASSWORD"
    rows=$(pg_sql "$CP" mathesar_django "SELECT username FROM auth_user")
    check "compose (external): its rows are in the postgres service (auth_user: ${rows:-none})" test "$rows" = "$ADMIN_USER"
    check "compose (external): no bundled cluster in the app's volume" p exec "$CX2" sh -c '! test -e /var/lib/mathesar/postgres/PG_VERSION'
  else
    fail "compose (external): HTTP 200 on :$CXPORT"
  fi
  # the app first, then its database (podman-compose 1.0.3 would stop them in
  # the order of the file: postgres before the app that uses it)
  compose stop -t "$ROOMY_BUDGET" mathesar-external
  compose stop -t "$ROOMY_BUDGET" postgres
  check "compose (external): stop -t $ROOMY_BUDGET of the app is clean" clean_exit "$CX2"
  check "compose (external): the postgres service stopped by itself (exit 0)" \
    test "$(p inspect -f '{{.State.ExitCode}}' "$CP")" = 0
  [ "${KEEP:-}" = 1 ] || compose down -v
else
  fail "compose: podman-compose is not installed (./dev setup installs it)"
fi

fi

# ---------------------------------------------------------------- 11. kube play
if part kube; then
echo "== the Helm chart's manifests with podman kube play (external PostgreSQL, migrate Job, 2 replicas)"
KDIR=$LOGDIR/kube; mkdir -p "$KDIR"
KNET=$RUN_ID-kube; NETWORKS+=("$KNET"); p network create "$KNET" >/dev/null
KPW="kube-$RANDOM$RANDOM-pw"
KUBE_FILES=()
# the pods' emptyDirs (below): reachable by uid 12345, unlike the 0700 log directory
KSCRATCH=$(mktemp -d "/tmp/$RUN_ID-kube.XXXX"); chmod 0755 "$KSCRATCH"
kube_cleanup() {
  [ "${KEEP:-}" != 1 ] || return 0
  for f in "${KUBE_FILES[@]}"; do p kube down "$f" >/dev/null 2>&1; done
  p volume rm -f "$REL-media" >/dev/null 2>&1
  p secret rm "$REL-secrets" >/dev/null 2>&1
  rm -rf "$KSCRATCH"
}
trap 'cleanup; kube_cleanup' EXIT   # logs first, then the pods
kube_play() { # kube_play FILE: played now, taken down at the end
  KUBE_FILES+=("$1")
  p kube play --network "$KNET" "$1" >>"$LOGDIR/kube.log" 2>&1
}
cat >"$KDIR/postgres.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $RUN_ID-kpg   # not $RUN_ID-pg: the base test's external server has that name
spec:
  restartPolicy: Never
  containers:
    - name: postgres
      image: localhost/$PG_IMAGE
      env:
        - {name: POSTGRES_USER, value: mathesar}
        - {name: POSTGRES_PASSWORD, value: "$KPW"}
        - {name: POSTGRES_DB, value: mathesar_django}
EOF
KPG=$RUN_ID-kpg-postgres
kube_play "$KDIR/postgres.yaml"
deadline=$(( $(date +%s) + HANG_GUARD ))
until p exec "$KPG" pg_isready -q -h 127.0.0.1 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] && running "$KPG" || break
  sleep 0.5
done
KPG_IP=$(p inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$KPG")
check "kube: the external PostgreSQL pod is up ($KPG_IP)" p exec "$KPG" pg_isready -q -h 127.0.0.1

# The chart rendered by Helm's engine: external mode, 2 replicas, the image
# under test, an arbitrary uid (12345, no passwd entry), read-only root.
# a release name of this run's own, so that the pods, the Secret and the claim
# are this run's (the chart names them after it)
REL=mathesar-t$$
if "$HELM_PYTHON" - "$KDIR" "$REPO/deploy/helm/mathesar" "$IMAGE" "$KPG_IP" "$KPW" "$REL" "$KSCRATCH" >"$KDIR/render.log" 2>&1 <<'PY'
import copy, json, os, sys, yaml, helm_python as helm
out, chart, image, host, password, release, scratch = sys.argv[1:]
repo, _, tag = image.rpartition(":")
values = {"database": {"mode": "external", "host": host, "password": password}, "replicas": 2,
          "image": {"repository": "localhost/" + repo, "tag": tag, "pullPolicy": "Never"},
          "podSecurityContext": {"runAsUser": 12345}, "persistence": {"size": "1Gi"},
          # a roomy stop (terminationGracePeriodSeconds 36): what is checked is an orderly stop
          "stopTimeout": 30,
          # the test reaches the pods at their addresses (there is no Service here)
          "extraEnv": [{"name": "ALLOWED_HOSTS", "value": "*"},
                       # two replicas of 5 workers each on this 2-core machine: 2 each keeps
                       # their stops inside the budget when the machine is also busy elsewhere
                       {"name": "WEB_CONCURRENCY", "value": "2"}]}
docs = [d for path, text in helm.Chart.load(chart).render(values, name=release, namespace="default").items()
        if not path.endswith("NOTES.txt") for d in yaml.safe_load_all(text) if d]
by_kind = {d["kind"]: d for d in docs}
# podman 4.3 runs no Jobs, and gives every pod the same "emptyDir" (a named
# volume called after it, shared by all replicas and runs). So the Job's and
# the Deployment's pod templates are played as Pods (what their controllers
# would start: one for the Job, `replicas` for the Deployment), each emptyDir
# a scratch directory of that pod's own.
def as_pod(name, template):
    spec = copy.deepcopy(template["spec"])
    for volume in spec["volumes"]:
        if "emptyDir" in volume:
            path = f"{scratch}/{name}/{volume['name']}"
            os.makedirs(path)
            os.chown(path, 12345, 0)
            os.chmod(path, 0o770)
            del volume["emptyDir"]
            volume["hostPath"] = {"path": path, "type": "Directory"}
    # podman 4.3 publishes a containerPort without hostPort on the host's same
    # port (Kubernetes does not): replicas would collide on :8000. The pods
    # are reached at their own addresses, as a Service would reach them.
    for c in spec["containers"]:
        c.pop("ports", None)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": template["metadata"]["labels"]}, "spec": spec}

job, deployment = by_kind["Job"], by_kind["Deployment"]
# podman resolves secretKeyRef in a podman secret holding the Secret's data map as JSON
with open(f"{out}/secret-data.json", "w") as f:
    json.dump(by_kind["Secret"]["data"], f)
for name, docs_ in [("pvc", [by_kind["PersistentVolumeClaim"]]),
                    ("migrate-pod", [as_pod(job["metadata"]["name"], job["spec"]["template"])]),
                    ("replicas", [as_pod(f"{release}-{i}", deployment["spec"]["template"]) for i in range(deployment["spec"]["replicas"])])]:
    with open(f"{out}/{name}.yaml", "w") as f:
        yaml.safe_dump_all(docs_, f, sort_keys=False)
print("rendered", sorted(by_kind))
PY
then
  pass "kube: the chart renders for podman ($(tail -n 1 "$KDIR/render.log"))"
else
  cat "$KDIR/render.log"; fail "kube: the chart renders for podman"
fi
p secret create "$REL-secrets" "$KDIR/secret-data.json" >/dev/null; kube_play "$KDIR/pvc.yaml"
check "kube: the Secret and the media claim exist in podman" bash -c 'p secret inspect "$1-secrets" >/dev/null && p volume inspect "$1-media" >/dev/null' _ "$REL"

# the migrate Job, once
t0=$(now)
kube_play "$KDIR/migrate-pod.yaml"
KJOB=$REL-migrate-migrate
code=$(p wait "$KJOB" 2>/dev/null | tail -n 1)
pod logs "$KJOB" >"$LOGDIR/$KJOB.log" 2>&1
info "migrate Job's pod: exit $code after $(elapsed "$t0")s"
check "kube: the migrate Job's pod (mathesar-init migrate) exits 0 (got ${code:-none})" test "$code" = 0
check "kube: it ran the app's migrations and stopped ('migrate: done')" grep -q "migrate: done" "$LOGDIR/$KJOB.log"
MIGRATIONS=$(pg_sql "$KPG" mathesar_django "SELECT count(*) FROM django_migrations")
check "kube: migrations recorded by the Job: $MIGRATIONS" test "${MIGRATIONS:-0}" -gt 0
check "kube: each migration recorded exactly once" \
  test "$(pg_sql "$KPG" mathesar_django "SELECT count(*) FROM (SELECT app, name FROM django_migrations GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0
BEFORE_PODS=$(pg_sql "$KPG" mathesar_django "SELECT now()")

# the Deployment's 2 replicas
t0=$(now)
kube_play "$KDIR/replicas.yaml"
R0=$REL-0-mathesar R1=$REL-1-mathesar; CONTAINERS+=("$R0" "$R1" "$KJOB" "$KPG")
ip_of() { p inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
U0="http://$(ip_of "$R0"):8000" U1="http://$(ip_of "$R1"):8000"
if wait_url_200 "$U0/standin/version/" "$R0" && wait_url_200 "$U1/standin/version/" "$R1"; then
  KUBE_BOTH=$(elapsed "$t0")
  pass "kube: both replicas serve ${KUBE_BOTH}s after kube play of the Deployment's pods"
  RFACTS="$(p inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$R0") $(p inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$R1")"
  RPS="$(procs "$R0"; procs "$R1")"; echo "$RPS" | sed 's/^/    ps| /'
  check "kube: the replicas run as uid 12345 with a read-only root ($RFACTS)" bash -c '
    [[ "$1" =~ ^12345(:0)?\ true\ 12345(:0)?\ true$ ]] && echo "$2" | grep -q gunicorn && ! echo "$2" | awk "\$3 != 12345" | grep .' _ "$RFACTS" "$RPS"
  after=$(pg_sql "$KPG" mathesar_django "SELECT count(*) FROM django_migrations")
  applied_by_pods=$(pg_sql "$KPG" mathesar_django "SELECT count(*) FROM django_migrations WHERE applied > '$BEFORE_PODS'")
  check "kube: migrations applied once: $MIGRATIONS by the Job, $applied_by_pods by the 2 replicas ($after in all)" \
    test "$applied_by_pods" = 0 -a "$after" = "$MIGRATIONS"
  for c in "$R0" "$R1"; do
    hc=$(p exec "$c" mathesar-init healthcheck 2>&1); rc=$?
    check "kube: the probes' command in $c (podman exec mathesar-init healthcheck) exits 0" test "$rc" = 0
  done
  key_hash() { p exec "$1" sh -c 'printf %s "$SECRET_KEY" | sha256sum | cut -c1-16'; }
  check "kube: both replicas got the same SECRET_KEY from the Secret" test "$(key_hash "$R0")" = "$(key_hash "$R1")"
  JK=$LOGDIR/kube.cookies
  check "kube: the admin is made on replica 0" app setup "$U0" "$JK" "$ADMIN_USER" "$ADMIN_PASSWORD"
  # the browser's cookies, sent to the other replica's address (one host name behind a Service)
  jar_for() { awk -v h="${1#http://}" 'BEGIN { FS = OFS = "\t" } /^#/ || NF < 7 { print; next } { sub(/:.*/, "", h); $1 = h; print }' "$JK" >"$JK.$2"; }
  jar_for "$U1" r1
  check "kube: the session made on replica 0 is logged in on replica 1 (/ answers 200)" test "$(app get "$U1" "$JK.r1" /)" = 200
  # one replica restarted while the other serves
  p stop -t 36 "$R0" >/dev/null
  check "kube: replica 0 stops cleanly (terminationGracePeriodSeconds 36)" clean_exit "$R0"
  check "kube: replica 1 serves the session while replica 0 is down" test "$(app get "$U1" "$JK.r1" /)" = 200
  p start "$R0" >/dev/null
  U0="http://$(ip_of "$R0"):8000"
  if wait_url_200 "$U0/standin/version/" "$R0"; then
    jar_for "$U0" r0
    check "kube: replica 0 back, the session still logged in there" test "$(app get "$U0" "$JK.r0" /)" = 200
  else
    fail "kube: replica 0 restarts"
  fi
  applied_by_pods=$(pg_sql "$KPG" mathesar_django "SELECT count(*) FROM django_migrations WHERE applied > '$BEFORE_PODS'")
  check "kube: still no migration applied by a replica after the restart ($applied_by_pods)" test "$applied_by_pods" = 0
  # one at a time, as a rolling update stops them
  p stop -t 36 "$R0" >/dev/null
  check "kube: replica 0 stops cleanly" clean_exit "$R0"
  p stop -t 36 "$R1" >/dev/null
  check "kube: replica 1 stops cleanly" clean_exit "$R1"
else
  fail "kube: both replicas serve"
fi
pod logs "$R0" >"$LOGDIR/$R0.log" 2>&1; pod logs "$R1" >"$LOGDIR/$R1.log" 2>&1
kube_cleanup; KUBE_FILES=()
fi
echo "platforms: --user 12345:0 first HTTP 200 ${UID_200:-n/a}s; --read-only ${RO_200:-n/a}s; kube play: both replicas ${KUBE_BOTH:-n/a}s, migrations ${MIGRATIONS:-n/a} (all by the Job)"
