"""No way up: what the app user or `postgres` plants in the volume never makes
root read, write or chown for it; secrets stay out of status.json and
healthcheck; the app's database role is no superuser; the app cannot gain
privileges at exec; PID 1 and the helper keep their memory to themselves.

Each test plants the attack against the real binary (PID 1 of its own PID
namespace, a real PostgreSQL) and looks at the kernel's and the server's
view afterwards."""
import base64
import json
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from faults import record, wait_until
from harness import INIT, PYTHON, Init, Volume, free_port, pg_bindir

PG15, PG16 = pg_bindir(15), pg_bindir(16)
APP_USER = "msi-app"
# The test venv's python lives under /root, which the app user cannot search.
APP_PYTHON = "/usr/bin/python3"
CANARY = "root-only-canary-4f1d9a"


@pytest.fixture(scope="module")
def app_user():
    """An unprivileged account for the app, as MATHESAR_APP_USER names it."""
    try:
        pwd.getpwnam(APP_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", APP_USER], check=True)
    return pwd.getpwnam(APP_USER)


@pytest.fixture
def root():
    path = Path(tempfile.mkdtemp(prefix="msi-faults-priv-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def canary_file(root, name="canary", mode=0o600):
    """A root-owned file outside the volume, on the same filesystem (so it can be hard-linked in)."""
    outside = root / "outside"
    outside.mkdir(exist_ok=True)
    os.chmod(outside, 0o700)
    path = outside / name
    path.write_text(CANARY + "\n")
    os.chmod(path, mode)
    return path


def state(path):
    st = path.lstat()
    return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), path.read_bytes())


def files_containing(tree, needle):
    found = []
    for p in Path(tree).rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                if needle.encode() in p.read_bytes():
                    found.append(p)
            except OSError:
                pass
    return found


def boot(env, *command, timeout=90):
    init = Init(["run", "--", *command], env)
    return init.wait(timeout), init


def bundled_env(volume, **extra):
    return volume.env(POSTGRES_PORT=free_port(), MATHESAR_RESTART="never", **extra)


# --- 1: root copies what `postgres` chose, at a major-version upgrade ---------

@pytest.mark.parametrize("plant", ["conf.d-symlink", "conf.d-file-symlink", "pg_ident-hardlink"])
def test_upgrade_never_copies_a_file_postgres_linked_in(root, plant):
    volume = Volume(root)
    port = free_port()
    code, init = boot(volume.env(MATHESAR_PG_BINDIR=PG15, POSTGRES_PORT=port, MATHESAR_RESTART="never"), "true")
    assert code == 0, init.output
    secret = canary_file(root, "server.key")
    if plant == "conf.d-symlink":
        # `postgres` links conf.d to a directory only root may read.
        shutil.rmtree(volume.pgdata / "conf.d", ignore_errors=True)
        os.symlink(secret.parent, volume.pgdata / "conf.d")
    elif plant == "pg_ident-hardlink":
        (volume.pgdata / "pg_ident.conf").unlink()
        os.link(secret, volume.pgdata / "pg_ident.conf")
    else:
        (volume.pgdata / "conf.d").mkdir()
        os.symlink(secret, volume.pgdata / "conf.d" / "tuning.conf")
    before = state(secret)
    code, init = boot(volume.env(MATHESAR_PG_BINDIR=PG16, POSTGRES_PORT=port, MATHESAR_RESTART="never"), "true", timeout=180)
    # Copies: a file with the canary's content that is not the planted link itself.
    copies = [p for p in files_containing(volume.data, CANARY) if p.stat().st_ino != secret.stat().st_ino]
    record("privileges", **{f"upgrade_{plant}_copies": len(copies)})
    assert copies == [], f"root copied a root-only file into the volume: {copies}\n{init.output}"
    assert state(secret) == before
    assert code != 0, init.output
    assert "is a symbolic link" in init.output or "takes only a regular file" in init.output, init.output


# --- 2 and 8: predictable temporaries, chown through planted hard links --------

def test_planted_temporaries_and_hard_links_are_never_given_away(root, app_user):
    """The app user pre-creates every temporary name the old code used, as hard
    links to root files; PGDATA's owner changes so that the tree is walked,
    with a hard link to a root file inside."""
    volume = Volume(root)
    env = bundled_env(volume, MATHESAR_APP_USER=APP_USER)
    code, init = boot(env, "true")
    assert code == 0, init.output
    secrets = volume.data / "secrets"
    targets = {}
    (secrets / "secret_key").unlink()
    targets["key"] = canary_file(root, "key-target", 0o666)
    os.link(targets["key"], secrets / "secret_key.tmp.1")
    (secrets / "postgres_password.scram").unlink()
    targets["scram"] = canary_file(root, "scram-target", 0o666)
    for pid in range(2, 400):  # the helper's pid in a fresh namespace is small
        os.link(targets["scram"], secrets / f"postgres_password.scram.tmp.{pid}")
    targets["pgdata"] = canary_file(root, "pgdata-target", 0o644)
    os.link(targets["pgdata"], volume.pgdata / "planted")
    os.chown(volume.pgdata, app_user.pw_uid, app_user.pw_gid)  # the top is wrong: the tree is walked
    before = {name: state(path) for name, path in targets.items()}
    # The key is gone from a volume that has a cluster: boot would refuse to
    # make a new one (stored credentials) unless told that losing them is fine.
    code, init = boot({**env, "MATHESAR_ALLOW_NEW_SECRET_KEY": "true"}, "true")
    after = {name: state(path) for name, path in targets.items()}
    record("privileges", planted_temporaries_given_away=sum(before[n] != after[n] for n in before))
    assert after == before, init.output
    assert code == 0, init.output
    key = secrets / "secret_key"
    assert key.stat().st_uid == app_user.pw_uid and key.stat().st_nlink == 1 and CANARY not in key.read_text()


# --- 3 and 5: secrets in status.json, healthcheck and the log ----------------

def encodings(secret_key, password, user):
    return {
        "key": secret_key,
        "password": password,
        "url-encoded password": urllib.parse.quote(password, safe=""),
        "json-escaped password": json.dumps(password)[1:-1],
        "basic auth": base64.b64encode(f"{user}:{password}".encode()).decode(),
        "key prefix": secret_key[:25],
        "key first half": secret_key[:25],
        "key second half": secret_key[25:],
    }


def test_failing_migrate_command_leaks_no_secret_into_status_log_or_healthcheck(external_env, volume, app_user):
    secret_key = "sk-" + "Q7w9ZpL2xK4mN8vB6cR1tY3uI5oP0aSdFgHjKlZx"
    user = "owner_role"
    password = "owner-pw"
    # The migrate command prints both secrets as a child commonly does, then fails.
    script = ("import base64, json, os, sys, urllib.parse; k = os.environ['SECRET_KEY']; p = os.environ['POSTGRES_PASSWORD']; "
              "u = os.environ['POSTGRES_USER']; "
              "print('settings: SECRET_KEY=' + k + ' password=' + p); "
              "print('url: postgres://' + u + ':' + urllib.parse.quote(p, safe='') + '@db/x'); "
              "print('json: ' + json.dumps({'password': p})); "
              "print('auth: Basic ' + base64.b64encode((u + ':' + p).encode()).decode()); "
              "print('truncated: ' + k[:25] + '...'); print('wrapped: ' + k[:25]); print('  ' + k[25:]); "
              "sys.exit(3)")
    env = external_env(SECRET_KEY=secret_key, MATHESAR_APP_USER=APP_USER,
                       MATHESAR_MIGRATE_COMMAND=f"{APP_PYTHON} -c \"{script}\"")
    init = Init(["run", "--", "true"], env)
    code = init.wait(60)
    assert code == 76, init.output  # migration failed
    assert "migrate" in init.output and "<redacted>" in init.output
    status_path = volume.run / "status.json"
    status = status_path.read_text()
    assert "last_error" in status and "<redacted>" in status
    st = status_path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and st.st_gid == app_user.pw_gid
    health = subprocess.run([str(INIT), "healthcheck"], env=env, capture_output=True, text=True, timeout=30)
    shown = {}
    for where, text in (("log", init.output), ("status.json", status), ("healthcheck", health.stdout + health.stderr)):
        for name, value in encodings(secret_key, password, user).items():
            if value in text:
                shown.setdefault(where, []).append(name)
    record("privileges", secret_forms_shown=sum(len(v) for v in shown.values()))
    assert shown == {}, shown
    assert health.returncode == 1 and "last error" in health.stdout


# --- 4: the root helper reads nothing the user's HOME or PG* variables name ---

def test_database_helper_ignores_the_users_home_and_pg_variables(volume, root):
    home = root / "home"
    home.mkdir()
    (home / ".pgpass").mkdir()  # libpq warns about it, by name, when it looks
    env = bundled_env(volume, HOME=home, PGPASSFILE=str(home / ".pgpass"), PGOPTIONS="-c no_such_setting=1",
                      PGSERVICE="nonexistent-service", PGHOST="/nonexistent", PGUSER="nobody")
    code, init = boot(env, "true")
    assert code == 0, init.output
    assert "password file" not in init.output and str(home) not in init.output, init.output


# --- 6 and 7: no privilege gain at exec; private memory for PID 1 and helper ---

APP_REPORT = ("import ctypes, os, sys; libc = ctypes.CDLL(None); "
              "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines()); "
              "core = [l for l in open('/proc/self/limits') if l.startswith('Max core file size')][0].split()[4]; "
              "out = __import__('subprocess').run([sys.argv[1], '-u'], capture_output=True, text=True).stdout.strip(); "
              "print('report nnp=%s capbnd=%s dumpable=%d core=%s setuid-euid=%s' % (status['NoNewPrivs'].strip(), "
              "status['CapBnd'].strip(), libc.prctl(3, 0, 0, 0, 0), core, out))")


@pytest.fixture
def setuid_id(root):
    """A setuid-root copy of id(1) the app may run."""
    directory = root / "bin"
    directory.mkdir()
    path = directory / "id"
    shutil.copy("/usr/bin/id", path)
    os.chown(path, 0, 0)
    os.chmod(path, 0o4755)
    return path


@pytest.fixture
def core_limit():
    """The container's core limit, raised so that a reset to it can be told from 0."""
    saved = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    yield "unlimited"
    resource.setrlimit(resource.RLIMIT_CORE, saved)


def report(init, source):
    line = next(l for l in init.output.splitlines() if l.startswith(source) and "report " in l)
    return dict(kv.split("=", 1) for kv in line.split("report ", 1)[1].split())


@pytest.mark.parametrize("allow", [False, True], ids=["default", "MATHESAR_APP_ALLOW_SETUID"])
def test_app_and_migrate_cannot_gain_privileges_at_exec(external_env, volume, app_user, setuid_id, core_limit, allow):
    env = external_env(MATHESAR_APP_USER=APP_USER, MATHESAR_RESTART="never",
                       MATHESAR_MIGRATE_COMMAND=f"{APP_PYTHON} -c \"{APP_REPORT}\" {setuid_id}",
                       **({"MATHESAR_APP_ALLOW_SETUID": "true"} if allow else {}))
    init = Init(["run", "--", APP_PYTHON, "-c", APP_REPORT, str(setuid_id)], env)
    assert init.wait(60) == 0, init.output
    for source in ("migrate", "app"):
        seen = report(init, source)
        if allow:
            assert seen["nnp"] == "0" and seen["setuid-euid"] == "0", (source, seen)
        else:
            assert seen["nnp"] == "1", (source, seen)
            assert int(seen["capbnd"], 16) == 0, (source, seen)
            assert seen["setuid-euid"] == str(app_user.pw_uid), (source, seen)
        # Not for the app: its memory may be dumped as the container allows.
        assert seen["dumpable"] == "1" and seen["core"] == core_limit, (source, seen)
    record("privileges", **{f"app_no_new_privs_{'allowed' if allow else 'default'}": report(init, "app")["nnp"]})


def test_pid1_and_the_helper_are_not_dumpable_and_have_no_core_limit(root, app_user, core_limit):
    """PID 1 as an unprivileged user (so that /proc tells a non-dumpable process by
    its files becoming root's), waiting in the helper for a server that is not there."""
    volume = Volume(root)
    volume.data.mkdir()
    os.chown(volume.data, app_user.pw_uid, app_user.pw_gid)
    volume.run.mkdir()
    os.chown(volume.run, app_user.pw_uid, app_user.pw_gid)
    env = volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=free_port(), POSTGRES_USER="u", POSTGRES_PASSWORD="p",
                     POSTGRES_DB="d", MATHESAR_DB_WAIT_TIMEOUT="60", SECRET_KEY="k" * 50)
    init = Init([f"--reuid={APP_USER}", f"--regid={app_user.pw_gid}", "--clear-groups", str(INIT), "run", "--", "true"],
                env, namespace=False, binary="setpriv")
    try:
        init.wait_for("waiting for PostgreSQL", timeout=30)
        helper = wait_until(lambda: next((pid for pid, _, comm in init.descendants() if comm.startswith("mathesar-init")), None))
        assert helper, init.output
        for name, pid in (("PID 1", init.pid1), ("helper", helper)):
            status = Path(f"/proc/{pid}/status")
            uid = next(l for l in status.read_text().splitlines() if l.startswith("Uid:")).split()[1]
            assert uid == str(app_user.pw_uid), name
            # The kernel gives a non-dumpable process's /proc files to root.
            assert status.stat().st_uid == 0, f"{name} is dumpable"
            limits = Path(f"/proc/{pid}/limits").read_text()
            core = next(l for l in limits.splitlines() if l.startswith("Max core file size")).split()
            assert core[4] == "0", f"{name}: {core}"
        record("privileges", pid1_and_helper_dumpable="no", pid1_and_helper_core_limit=0)
    finally:
        # Not a namespace: SIGKILL would leave the helper behind; a stop ends both.
        if init.proc.poll() is None:
            init.signal(signal.SIGTERM)
        init.wait(30)


# --- 9: the app's role on the bundled server -----------------------------------

ROLE_PROBE = """
import os, subprocess, sys, psycopg
def connect(db=None):
    return psycopg.connect(host=os.environ['POSTGRES_HOST'], port=os.environ['POSTGRES_PORT'], dbname=db or os.environ['POSTGRES_DB'],
                           user=os.environ['POSTGRES_USER'], password=os.environ['POSTGRES_PASSWORD'], autocommit=True)
def attempt(name, sql, db=None):
    try:
        with connect(db) as c:
            c.execute(sql)
        print('probe', name, 'ok')
    except psycopg.Error as e:
        print('probe', name, 'refused', type(e).__name__)
with connect() as c:
    print('probe attributes', *c.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone())
    print('probe owner', c.execute("SELECT pg_get_userbyid(datdba) = current_user FROM pg_database WHERE datname = current_database()").fetchone()[0])
attempt('copy-to-program', "COPY (SELECT 1) TO PROGRAM 'id > " + sys.argv[1] + "'")
attempt('grant-execute-server-program', 'GRANT pg_execute_server_program TO CURRENT_USER')
attempt('grant-write-server-files', 'CREATE ROLE probe_sneaky; GRANT pg_write_server_files TO probe_sneaky')
attempt('read-server-file', "SELECT pg_read_file('PG_VERSION')")
attempt('create-database', 'CREATE DATABASE probe_created')
attempt('create-role', 'CREATE ROLE probe_role LOGIN')
attempt('grant-own-role', 'GRANT probe_role TO CURRENT_USER')
attempt('own-schema', 'CREATE SCHEMA probe_schema; CREATE TABLE probe_schema.t (id int)', 'probe_created')
attempt('transfer-ownership', 'CREATE ROLE probe_owner; CREATE SCHEMA probe_s2; GRANT CREATE, USAGE ON SCHEMA probe_s2 TO probe_owner; '
        'CREATE TABLE probe_s2.t (id int); ALTER TABLE probe_s2.t OWNER TO probe_owner', 'probe_created')
attempt('manage-old-role', 'GRANT su_staff TO probe_role; REVOKE su_staff FROM probe_role; DROP ROLE su_staff')
"""


def probe(env, marker):
    code, init = boot(env, PYTHON, "-c", ROLE_PROBE, str(marker))
    assert code == 0, init.output
    lines = [l.split("probe ", 1)[1] for l in init.output.splitlines() if l.startswith("app ") and "probe " in l]
    return {l.split()[0]: l.split()[1:] for l in lines}, init


@pytest.mark.parametrize("major", [15, 16])
def test_bundled_role_is_no_superuser_and_an_old_superuser_role_is_taken_down(volume, root, major):
    drop = root / "drop"
    drop.mkdir()
    os.chmod(drop, 0o1777)  # so that a program run as `postgres` could leave its mark
    marker = drop / "copy-to-program-ran"
    env = bundled_env(volume, MATHESAR_PG_BINDIR={15: PG15, 16: PG16}[major])
    seen, init = probe(env, marker)
    expected = {
        "attributes": ["False", "True", "True"],
        "owner": ["True"],
        "copy-to-program": ["refused", "InsufficientPrivilege"],
        "grant-execute-server-program": ["refused", "InsufficientPrivilege"],
        "grant-write-server-files": ["refused", "InsufficientPrivilege"],
        "read-server-file": ["refused", "InsufficientPrivilege"],
        "create-database": ["ok"],
        "create-role": ["ok"],
        "grant-own-role": ["ok"],
        "own-schema": ["ok"],
        "manage-old-role": ["refused", "UndefinedObject"],
    }
    if major >= 16:
        # Giving a table to a role it created needs SET on it (createrole_self_grant);
        # PostgreSQL 15 has no such thing and needs membership.
        expected["transfer-ownership"] = ["ok"]
    else:
        seen.pop("transfer-ownership")
    assert seen == expected, init.output
    assert not marker.exists()
    # A volume from a version that made the role SUPERUSER: it granted itself a
    # server role, and created a role of its own (none of which a CREATEROLE role
    # holds with ADMIN OPTION on 16).
    socket = volume.run / "postgresql"
    promote = (f"import psycopg; c = psycopg.connect(host='{socket}', port={env['POSTGRES_PORT']}, dbname='postgres', user='postgres', "
               "autocommit=True); c.execute('ALTER ROLE mathesar SUPERUSER'); c.execute('GRANT pg_execute_server_program TO mathesar'); "
               "c.execute('CREATE ROLE su_staff'); "
               "c.execute(\"UPDATE pg_authid SET rolsuper = false WHERE rolname = 'pg_execute_server_program'\")")
    code, init = boot(env, PYTHON, "-c", promote)
    assert code == 0, init.output
    seen, init = probe(env, marker)
    assert "role mathesar is no longer SUPERUSER" in init.output, init.output
    assert seen["attributes"] == ["False", "True", "True"] and seen["copy-to-program"][0] == "refused", init.output
    assert seen["grant-execute-server-program"][0] == "refused", init.output
    assert seen["manage-old-role"] == ["ok"], init.output
    assert not marker.exists()
    record("privileges", bundled_role="NOSUPERUSER CREATEDB CREATEROLE", copy_to_program="refused")
