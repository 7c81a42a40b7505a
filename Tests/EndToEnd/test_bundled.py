"""The bundled PostgreSQL: a real PostgreSQL 15 started, stopped and
killed by the real binary as PID 1."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import APPS, INIT, PYTHON, Init, PostgresServer, free_port, signal_pid_if
# Volumes made the way Mathesar's image makes them, shared with the upgrade tests.
from test_upgrade import (MATHESAR_IMAGE_KEY, PG17, READ, assert_data_intact, etc_wrapper,  # noqa: F401 (a fixture)
                          make_pg_createcluster_layout, start as upgrade_start)

DB_APP = [PYTHON, str(APPS / "db_app.py")]


@pytest.fixture
def bundled(volume):
    port = free_port()

    def env(**extra):
        return volume.env(POSTGRES_PORT=port, MATHESAR_RESTART="never", **extra)
    env.port = port
    return env


def boot(env, *command, timeout=60):
    init = Init(["run", "--", *(command or DB_APP)], env)
    code = init.wait(timeout)
    return code, init


def test_first_boot_gives_the_app_a_working_database_and_second_boot_keeps_it(bundled, volume):
    code, first = boot(bundled(ACTION="write", VALUE="row-1"))
    assert code == 0, first.output
    assert "wrote row-1" in first.output
    assert "created a PostgreSQL 15 cluster" in first.output
    assert "created role mathesar" in first.output and "created database mathesar_django" in first.output
    code, second = boot(bundled(ACTION="read"))
    assert code == 0, second.output
    assert "rows=row-1" in second.output
    assert "created" not in second.output
    assert not (volume.data / "postgres.initdb-incomplete").exists()


def test_app_gets_loopback_host_and_the_configured_role(bundled):
    code, init = boot(bundled(ACTION="whoami", POSTGRES_USER="alice", POSTGRES_DB="alice_db"))
    assert code == 0, init.output
    assert "connected as alice to 127.0.0.1" in init.output


def test_clean_stop_leaves_a_cluster_that_needs_no_recovery(bundled, volume):
    init = Init(["run", "--", *DB_APP], bundled(ACTION="whoami", SLEEP="60"))
    init.wait_for("connected as mathesar")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert volume.controldata_state() == "shut down"
    out = init.output
    # The app went first, then PostgreSQL's fast shutdown.
    assert out.index("SIGTERM received") < out.index("received fast shutdown request")
    code, again = boot(bundled(ACTION="whoami"))
    assert code == 0
    assert "database system was shut down at" in again.output
    assert "not properly shut down" not in again.output and "automatic recovery" not in again.output


def test_app_exit_stops_postgres_cleanly_and_passes_the_status_on(bundled, volume):
    code, init = boot(bundled(), "sh", "-c", "exit 5")
    assert code == 5
    assert volume.controldata_state() == "shut down"


def wait_for_path(path, predicate=lambda p: p.exists(), timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


@pytest.mark.parametrize("moment", ["temporary-dir", "initdb-midway", "renamed", "server-starting", "app-running"])
def test_sigkill_during_first_boot_then_a_normal_boot_works(bundled, volume, moment):
    init = Init(["run", "--", *DB_APP], bundled(ACTION="write", VALUE="after-kill", SLEEP="60"))
    temporary = volume.data / "postgres.initdb-incomplete"
    if moment == "temporary-dir":
        assert wait_for_path(temporary)
    elif moment == "initdb-midway":
        assert wait_for_path(temporary / "global" / "pg_control")
    elif moment == "renamed":
        assert wait_for_path(volume.pgdata / "PG_VERSION")
    elif moment == "server-starting":
        assert wait_for_path(volume.pgdata / "postmaster.pid")
    else:
        init.wait_for("wrote after-kill")
    init.kill()
    code, again = boot(bundled(ACTION="write", VALUE="second"))
    assert code == 0, again.output
    assert "wrote second" in again.output
    assert not temporary.exists()
    assert (volume.pgdata / "PG_VERSION").read_text().strip() == "15"


def test_foreign_data_in_pgdata_is_refused_and_untouched(bundled, volume):
    volume.pgdata.mkdir(parents=True)
    (volume.pgdata / "notes.txt").write_text("not a cluster")
    before = volume.snapshot()
    code, init = boot(bundled())
    assert code == 73
    assert "is not empty and is not a PostgreSQL cluster" in init.output and "notes.txt" in init.output
    assert volume.snapshot() == before


def test_empty_lost_and_found_counts_as_empty(bundled, volume):
    (volume.pgdata / "lost+found").mkdir(parents=True)
    code, init = boot(bundled(ACTION="whoami"))
    assert code == 0, init.output


def test_newer_cluster_is_refused_and_untouched(bundled, volume):
    volume.pgdata.mkdir(parents=True)
    (volume.pgdata / "PG_VERSION").write_text("99\n")
    (volume.pgdata / "base").mkdir()
    before = volume.snapshot()
    code, init = boot(bundled())
    assert code == 73
    assert "PostgreSQL 99 cluster, newer than this server (15)" in init.output
    assert volume.snapshot() == before


def listening_addresses(pid):
    """The TCP addresses a process listens on, from the kernel's socket tables."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)
                if family == socket.AF_INET:
                    found.append((socket.inet_ntop(family, raw[::-1]), int(port, 16)))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append((socket.inet_ntop(family, words), int(port, 16)))
    return found


def test_server_listens_on_loopback_only_and_no_secret_reaches_argv_or_logs(bundled, volume):
    init = Init(["run", "--", *DB_APP], bundled(ACTION="whoami", SLEEP="60", SECRET_KEY="the-app-secret-key-123456"))
    init.wait_for("connected as mathesar")
    postmaster = next(pid for pid, state, comm in init.descendants() if comm == "postgres")
    assert listening_addresses(postmaster) == [("127.0.0.1", bundled.port)]
    password = (volume.data / "secrets" / "postgres_password").read_text().strip()
    assert len(password) == 50
    for pid, _, _ in init.descendants() + [(init.pid1, "", "")]:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        assert password.encode() not in argv and b"the-app-secret-key" not in argv, (pid, argv)
    init.signal(signal.SIGTERM)
    init.wait()
    assert password not in init.output and "the-app-secret-key" not in init.output


def test_changed_password_is_reconciled_at_boot(bundled):
    code, first = boot(bundled(ACTION="whoami", POSTGRES_PASSWORD="first-password"))
    assert code == 0, first.output
    code, second = boot(bundled(ACTION="whoami", POSTGRES_PASSWORD="second-password"))
    assert code == 0, second.output
    assert "connected as mathesar" in second.output
    # The old password no longer works: an app given it cannot connect.
    code, init = boot(bundled(ACTION="whoami", POSTGRES_PASSWORD="second-password"),
                      "sh", "-c", f"POSTGRES_PASSWORD=first-password exec {PYTHON} {APPS / 'db_app.py'}")
    assert code != 0
    assert "password authentication failed" in init.output


def test_server_that_cannot_start_exits_69_with_its_last_lines(bundled, volume):
    code, init = boot(bundled(ACTION="whoami"))
    assert code == 0
    with open(volume.pgdata / "postgresql.conf", "a") as conf:
        conf.write("\nno_such_setting_xyz = 1\n")
    code, init = boot(bundled(ACTION="whoami"))
    assert code == 69
    assert "PostgreSQL exited with status 1 while starting" in init.output
    assert "no_such_setting_xyz" in init.output


def test_postmaster_killed_while_app_runs_is_restarted(bundled, volume):
    init = Init(["run", "--", *DB_APP], bundled(ACTION="write", VALUE="before-crash", SLEEP="60"))
    init.wait_for("wrote before-crash")
    postmaster = next(pid for pid, state, comm in init.descendants() if comm == "postgres")
    signal_pid_if(postmaster, signal.SIGKILL, lambda p: p in {d[0] for d in init.descendants()})
    init.wait_for("postgres killed by SIGKILL; restarting in 500 ms")
    init.wait_for("database system is ready to accept connections.*\n?", timeout=30)
    assert volume.status()["services"]["postgres"]["restarts"] >= 0
    deadline = time.monotonic() + 20
    while volume.status()["services"]["postgres"]["state"] != "running":
        assert time.monotonic() < deadline, init.output
        time.sleep(0.05)
    assert volume.status()["services"]["app"]["state"] == "running"
    init.signal(signal.SIGTERM)
    init.wait()
    code, again = boot(bundled(ACTION="read"))
    assert "rows=before-crash" in again.output


def test_stop_during_boot_stops_postgres_cleanly(bundled, volume):
    # A migrate command that waits forever keeps boot in the "migrating" phase.
    init = Init(["run", "--", *DB_APP], bundled(MATHESAR_MIGRATE_COMMAND="sleep 600"))
    init.wait_for("reconciled")
    time.sleep(0.2)
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    assert volume.controldata_state() == "shut down"


# External mode: wait, then check the role.

def test_external_server_down_then_up_within_the_timeout(volume):
    server = PostgresServer().init()
    try:
        env = volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=server.port, POSTGRES_USER="postgres",
                         POSTGRES_PASSWORD=PostgresServer.SUPERUSER_PASSWORD, POSTGRES_DB="postgres",
                         MATHESAR_DB_WAIT_TIMEOUT="30", MATHESAR_RESTART="never", ACTION="whoami")
        init = Init(["run", "--", *DB_APP], env)
        time.sleep(1.5)
        server.start()
        assert init.wait(40) == 0, init.output
        assert "connected as postgres" in init.output
        assert "role postgres is SUPERUSER" in init.output
        assert not (volume.pgdata).exists()  # the bundled server was never started
    finally:
        server.destroy()


def test_external_server_never_up_exits_69_after_the_timeout(volume):
    env = volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=free_port(), POSTGRES_PASSWORD="x",
                     MATHESAR_DB_WAIT_TIMEOUT="2")
    start = time.monotonic()
    code, init = boot(env, "true")
    assert code == 69
    assert time.monotonic() - start >= 2
    assert "was not ready within 2 s (MATHESAR_DB_WAIT_TIMEOUT)" in init.output


def test_external_role_without_privileges_exits_69_with_the_fix(pg_server, volume):
    pg_server.make_role("weak_role", "weak-pw")
    pg_server.sql("DROP DATABASE IF EXISTS weak_target")
    pg_server.sql("CREATE DATABASE weak_target OWNER owner_role")
    code, init = boot(pg_server.external_env(volume, "weak_role", "weak-pw", "weak_target"), "true")
    assert code == 69
    assert 'ALTER DATABASE "weak_target" OWNER TO "weak_role";' in init.output
    assert "weak-pw" not in init.output


def test_external_wrong_password_exits_69_naming_the_variables(pg_server, volume):
    code, init = boot(pg_server.external_env(volume, "owner_role", "wrong-password", "owner_db"), "true")
    assert code == 69
    assert "POSTGRES_PASSWORD" in init.output and "wrong-password" not in init.output


def test_external_missing_database_is_created_when_the_role_may(pg_server, volume):
    pg_server.make_role("creator_role", "creator-pw")
    pg_server.sql("ALTER ROLE creator_role CREATEDB")
    pg_server.sql("DROP DATABASE IF EXISTS created_by_init")
    code, init = boot(pg_server.external_env(volume, "creator_role", "creator-pw", "created_by_init",
                                             ACTION="whoami", MATHESAR_RESTART="never"), *DB_APP)
    assert code == 0, init.output
    assert "created database created_by_init" in init.output
    assert "role creator_role owns database created_by_init" in init.output


def test_external_sslmode_is_passed_through(pg_server, volume):
    # The test server has no TLS: sslmode=require must fail, and say so.
    code, init = boot(pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db",
                                             POSTGRES_SSLMODE="require", MATHESAR_DB_WAIT_TIMEOUT="3"), "true")
    assert code == 69
    assert "SSL" in init.output


@pytest.mark.parametrize("content", ["", "garbage\n", "1\n"])
def test_stale_postmaster_pid_left_by_a_kill_does_not_block_the_next_boot(bundled, volume, content):
    # SIGKILL between PostgreSQL creating postmaster.pid and writing it leaves it empty
    # (found by the kill tests); a pid of a live process that is no postmaster is pid reuse.
    code, first = boot(bundled(ACTION="whoami"))
    assert code == 0, first.output
    pidfile = volume.pgdata / "postmaster.pid"
    pidfile.write_text(content)
    os.chown(pidfile, volume.pgdata.stat().st_uid, volume.pgdata.stat().st_gid)
    code, again = boot(bundled(ACTION="whoami"))
    assert code == 0, again.output
    if content != "1\n":  # pid 1 is PID 1 itself, the server's own parent: PostgreSQL handles that
        assert "removed " + str(pidfile) in again.output


def test_running_postmaster_on_the_directory_is_refused(bundled, volume):
    code, first = boot(bundled(ACTION="whoami"))
    assert code == 0
    # A server started by hand on the same directory, outside mathesar-init's control.
    with PostgresServer(data=volume.pgdata, tcp=False) as server:
        pidfile = volume.pgdata / "postmaster.pid"
        assert "ready" in pidfile.read_text()
        code, again = boot(bundled(ACTION="whoami"))
        # Outside our PID namespace the pid is invisible; PostgreSQL's shared-memory
        # interlock still refuses, and the file is left alone for it.
        assert code in (69, 73), again.output
        assert "already running" in again.output or "is still in use" in again.output
        assert server.proc.poll() is None and "ready" in pidfile.read_text()


def test_unchanged_password_is_not_rewritten_and_a_changed_one_is(bundled, volume):
    # The app's role may not read pg_authid (it is no superuser): the verifier is read
    # as the bootstrap superuser over the private socket (the app runs as root here),
    # after the app's own login with the password proved it works.
    query = [PYTHON, "-c", "import os, psycopg; psycopg.connect(host=os.environ['POSTGRES_HOST'], port=os.environ['POSTGRES_PORT'], "
             "dbname=os.environ['POSTGRES_DB'], user=os.environ['POSTGRES_USER'], password=os.environ['POSTGRES_PASSWORD']); "
             "c = psycopg.connect(host=os.environ['MATHESAR_RUN_DIR'] + '/postgresql', port=os.environ['POSTGRES_PORT'], dbname='postgres', user='postgres'); "
             "print('verifier-salt=' + c.execute(\"SELECT split_part(rolpassword, '$', 2) FROM pg_authid WHERE rolname = %s\", [os.environ['POSTGRES_USER']]).fetchone()[0])"]

    def salt(**extra):
        code, init = boot(bundled(**extra), *query)
        assert code == 0, init.output
        return next(l.split("verifier-salt=")[1] for l in init.output.splitlines() if "verifier-salt=" in l)

    first = salt()
    assert salt() == first  # the second boot found nothing to change
    assert (volume.data / "secrets" / "postgres_password.scram").stat().st_mode & 0o777 == 0o600
    changed = salt(POSTGRES_PASSWORD="a-new-password")
    assert changed != first


# --- the key of a volume that already holds data (no silent replacement) -----------

def test_cluster_without_its_key_is_refused_before_anything_is_written(bundled, volume):
    code, first = boot(bundled(ACTION="write", VALUE="row-1"))
    assert code == 0, first.output
    (volume.data / "secrets" / "secret_key").unlink()
    shutil.rmtree(volume.run)  # a new container: only the volume is left
    before = volume.snapshot()
    code, init = boot(bundled(ACTION="read"))
    assert code == 78, init.output
    out = init.output
    assert "SECRET_KEY is not set and no key was found" in out and str(volume.pgdata) in out
    assert "/code/.secrets/secret_key.txt" in out and f"{volume.data}/secrets/secret_key" in out
    assert "SECRET_KEY_FILE" in out and "MATHESAR_ALLOW_NEW_SECRET_KEY=true" in out and "nothing was written" in out
    assert volume.snapshot() == before
    check = subprocess.run([str(INIT), "check"], env=bundled(), capture_output=True, text=True, timeout=60)
    assert check.returncode == 78 and "PROBLEM  SECRET_KEY:" in check.stdout, check.stdout
    # The user accepts that the stored connections are lost: a new key, the data intact.
    code, allowed = boot(bundled(ACTION="read", MATHESAR_ALLOW_NEW_SECRET_KEY="true"))
    assert code == 0, allowed.output
    assert "rows=row-1" in allowed.output and "generated secret_key" in allowed.output


# --- volumes made the way Mathesar's image makes them (PostgreSQL 17, pg_createcluster) ---

def test_mathesar_image_volume_boots_with_its_data_and_its_key(volume, etc_wrapper):
    pgdata, etc = make_pg_createcluster_layout(volume.root, bindir=PG17, major=17)
    port = free_port()
    init = upgrade_start(volume, PG17, READ, port, binary=etc_wrapper, MSI_USER="postgres", MSI_PASSWORD="mathesar",
                         POSTGRES_DB="mathesar_django", PGDATA=pgdata, MSI_TEST_ETC=etc,
                         MATHESAR_LEGACY_SECRETS_DIR=volume.root / "code-secrets")
    assert init.wait(120) == 0, init.output
    assert_data_intact(init, 17)
    assert "copied postgresql.conf, pg_hba.conf and pg_ident.conf from /etc/postgresql/17/mathesar" in init.output
    assert f"using the key Mathesar's image kept in {volume.root}/code-secrets/secret_key.txt" in init.output
    assert (volume.data / "secrets" / "secret_key").read_text() == MATHESAR_IMAGE_KEY + "\n"
    assert MATHESAR_IMAGE_KEY not in init.output


def test_mathesar_image_volume_without_its_etc_volume_is_refused_with_nothing_written(volume):
    pgdata, _ = make_pg_createcluster_layout(volume.root, bindir=PG17, major=17)
    before = volume.snapshot()
    init = upgrade_start(volume, PG17, READ, free_port(), PGDATA=pgdata, MATHESAR_LEGACY_SECRETS_DIR=volume.root / "code-secrets")
    assert init.wait(60) == 73, init.output
    assert "no /etc/postgresql/17/*/postgresql.conf names it" in init.output
    assert "mount that volume at /etc/postgresql" in init.output and "nothing was changed" in init.output
    assert volume.snapshot() == before
    assert not volume.data.exists() and not volume.run.exists()


# --- PostgreSQL's multi-line messages ----------------------------------------------

PSQL_APP = ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec /usr/lib/postgresql/15/bin/psql -h "$POSTGRES_HOST" '
                        '-p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$MSI_SQL"']
DUPLICATE = ("CREATE TABLE IF NOT EXISTS dup (id int PRIMARY KEY); INSERT INTO dup VALUES (1) ON CONFLICT DO NOTHING; "
             "INSERT INTO dup VALUES (1)")


def test_multi_line_server_message_stays_together(bundled):
    code, init = boot(bundled(MSI_SQL=DUPLICATE), *PSQL_APP)
    assert code == 1, init.output  # psql: the INSERT failed
    lines = init.output.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("postgres ") and "ERROR:  duplicate key value" in l)
    assert re.fullmatch(r"postgres +\|   DETAIL:  Key \(id\)=\(1\) already exists\.", lines[first + 1]), lines[first:first + 3]
    assert re.fullmatch(r"postgres +\|   STATEMENT:  CREATE TABLE .*INSERT INTO dup VALUES \(1\)", lines[first + 2]), lines[first:first + 3]


def test_multi_line_server_message_in_json_keeps_the_level(bundled):
    code, init = boot(bundled(MSI_SQL=DUPLICATE, MATHESAR_LOG_FORMAT="json"), *PSQL_APP)
    assert code == 1, init.output
    records = [json.loads(l) for l in init.output.splitlines() if l.startswith("{")]
    postgres = [r for r in records if r["source"] == "postgres"]
    first = next(i for i, r in enumerate(postgres) if "ERROR:  duplicate key value" in r["message"])
    detail, statement = postgres[first + 1], postgres[first + 2]
    assert detail == {**detail, "level": "error", "message": "DETAIL:  Key (id)=(1) already exists."}
    assert statement["level"] == "error" and statement["message"].startswith("STATEMENT:  CREATE TABLE")


# --- external mode: what the wait says ------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_external_wait_on_loopback_names_the_error_and_what_localhost_is(volume, host):
    port = free_port()
    env = volume.env(POSTGRES_HOST=host, POSTGRES_PORT=port, POSTGRES_PASSWORD="x", MATHESAR_DB_WAIT_TIMEOUT="2")
    code, init = boot(env, "true")
    assert code == 69, init.output
    progress = [l for l in init.output.splitlines() if "waiting for PostgreSQL at" in l]
    assert progress, init.output
    for line in progress:
        assert "last error:" in line and "Connection refused" in line
        assert "is the container itself" in line and "host.docker.internal" in line and "compose" in line
    final = next(l for l in init.output.splitlines() if "was not ready within 2 s" in l)
    assert "Connection refused" in final and "is the container itself" in final


def test_external_wait_on_another_host_names_the_error_without_the_localhost_hint(volume):
    env = volume.env(POSTGRES_HOST="no-such-host.invalid", POSTGRES_PASSWORD="x", MATHESAR_DB_WAIT_TIMEOUT="2")
    code, init = boot(env, "true")
    assert code == 69, init.output
    progress = [l for l in init.output.splitlines() if "waiting for PostgreSQL at" in l]
    assert progress and all("last error:" in l for l in progress), init.output
    assert "container itself" not in init.output
