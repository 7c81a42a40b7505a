"""docker/app/mathesar_sql.py against the stand-in: user databases made by
release 1 are upgraded by release 2's script through the app's own models,
each exactly once, with failures reported per database."""
import time

import psycopg
import pytest

from harness import PostgresServer
from standin import INTERNAL_PASSWORD, LOCK_CLASS, App, Script, run_script, unique


def make_databases(release_dir, env, databases):
    """Databases set up through the running release's RPC, in order: a name
    is "created new"; a (server, database, role, password) tuple is
    "connected" as an existing database. Returns their ids by name."""
    with App(release_dir, env) as app:
        client = app.client()
        client.complete_installation()
        ids = {}
        for item in databases:
            if isinstance(item, str):
                result = client.call("databases.setup.create_new", database=item)
            else:
                server, item, role, password = item
                result = client.call("databases.setup.connect_existing", host="127.0.0.1", port=server.port,
                                     database=item, role=role, password=password)
            ids[item] = result["database"]["id"]
    return ids


def installs(pg, database):
    return int(pg.sql("SELECT count FROM __msar.install_count", database=database))


def recorded_versions(pg, env):
    rows = pg.sql("SELECT name || '=' || last_confirmed_sql_version FROM mathesar_database ORDER BY id",
                  database=env["POSTGRES_DB"])
    return dict(line.split("=") for line in rows.splitlines())


def by_name(records):
    return {r["database"]: r for r in records}


def test_release2_upgrades_every_release1_database_then_reports_them_current(pg, internal, releases):
    env = internal()
    names = [unique("sales"), unique("hr"), unique("stock")]
    make_databases(releases[1], env, names)
    assert recorded_versions(pg, env) == {n: "0.10.0" for n in names}
    assert {pg.sql("SELECT msar.sql_version()", database=n) for n in names} == {"0.10.0"}

    before = run_script(releases[2], ["status"], env)
    assert before.rc == 0, before.stderr
    assert [(r["database"], r["version"], r["app_version"], r["needs_upgrade"]) for r in before.records] == [
        (n, "0.10.0", "0.11.0", True) for n in names]

    up = run_script(releases[2], ["upgrade"], env)
    assert up.rc == 0 and up.stderr == "", up.stderr
    assert [(r["database"], r["from"], r["to"], r["result"]) for r in up.records] == [
        (n, "0.10.0", "0.11.0", "upgraded") for n in names]
    assert all(isinstance(r["ms"], int) and "error" not in r for r in up.records)
    assert recorded_versions(pg, env) == {n: "0.11.0" for n in names}
    for n in names:  # release 2's SQL, installed once more
        assert pg.sql("SELECT msar.sql_version()", database=n) == "0.11.0"
        assert pg.sql("SELECT msar.count_user_schemas() >= 1", database=n) == "t"
        assert installs(pg, n) == 2

    again = run_script(releases[2], ["upgrade"], env)
    assert [(r["database"], r["result"]) for r in again.records] == [(n, "current") for n in names]
    assert all(installs(pg, n) == 2 for n in names)
    assert not any(r["needs_upgrade"] for r in run_script(releases[2], ["status"], env).records)

    gone = run_script(releases[2], ["uninstall", "--database", names[0]], env)
    assert [(r["database"], r["result"]) for r in gone.records] == [(names[0], "uninstalled")]
    assert pg.sql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('msar', '__msar', 'mathesar_types')",
                  database=names[0]) == "0"
    assert recorded_versions(pg, env)[names[0]] == "0.0.0"
    # Without msar, nothing tells which stored role may install it (as in Mathesar).
    missing = run_script(releases[2], ["upgrade", "--database", names[0]], env)
    assert missing.rc == 0 and missing.records[0]["result"] == "failed"
    assert "schema msar is not installed there" in missing.records[0]["error"]


def test_three_concurrent_runs_upgrade_each_database_exactly_once(pg, internal, releases):
    env = internal()
    names = [unique("a"), unique("b"), unique("c")]
    ids = make_databases(releases[1], env, names)
    first = min(ids.values())
    # Hold every database's upgrade lock, start three runs, and let them go
    # only once all three are queued behind the first database's lock.
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user="postgres", dbname=env["POSTGRES_DB"],
                         autocommit=True) as holder:
        for database_id in ids.values():
            holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, database_id))
        runs = [Script(releases[2], ["upgrade"], env) for _ in range(3)]
        deadline = time.monotonic() + 120
        while holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                             " AND classid = %s AND objid = %s", (LOCK_CLASS, first)).fetchone()[0] < 3:
            assert time.monotonic() < deadline, "the three runs never queued for the lock"
            assert all(r.proc.poll() is None for r in runs), "a run ended without waiting for the lock"
            time.sleep(0.05)
        holder.execute("SELECT pg_advisory_unlock_all()")
    results = [run.wait() for run in runs]
    assert all(r.rc == 0 for r in results), [r.stderr for r in results]
    for name in names:
        outcomes = sorted(by_name(r.records)[name]["result"] for r in results)
        assert outcomes == ["current", "current", "upgraded"], (name, outcomes)
        assert installs(pg, name) == 2
    assert recorded_versions(pg, env) == {n: "0.11.0" for n in names}


@pytest.fixture
def other_server():
    server = PostgresServer().init().start()
    yield server
    server.destroy()


def test_unreachable_database_fails_alone_and_the_others_are_upgraded(pg, internal, releases, other_server):
    env = internal()
    remote, remote_password = unique("remote"), "remote-pw-Zk3"
    other_server.make_role("remote_owner", remote_password, owns=remote)
    before, after = unique("before"), unique("after")
    ids = make_databases(releases[1], env, [before, (other_server, remote, "remote_owner", remote_password), after])
    assert ids[before] < ids[remote] < ids[after]  # the unreachable one is in the middle
    other_server.stop()

    up = run_script(releases[2], ["upgrade"], env)
    assert up.rc == 0, up.stderr
    results = by_name(up.records)
    assert results[before]["result"] == results[after]["result"] == "upgraded"
    failed = results[remote]
    assert failed["result"] == "failed" and failed["from"] == "0.10.0"
    assert "Connection refused" in failed["error"] and f"port {other_server.port}" in failed["error"]
    assert remote_password not in up.stdout and INTERNAL_PASSWORD not in up.stdout
    assert recorded_versions(pg, env) == {before: "0.11.0", remote: "0.10.0", after: "0.11.0"}


def test_set_role_password_makes_stored_connections_work_after_a_password_change(pg, internal, releases):
    role, old, new = unique("internal_role"), "old-pw-Lm4", "new-pw-Rt8"
    pg.make_role(role, old, superuser=True)
    env = internal(role=role, password=old)
    db = unique("created")
    make_databases(releases[1], env, [db])
    pg.sql(f"ALTER ROLE \"{role}\" PASSWORD '{new}'")  # as a boot that reconciles the password does
    env = {**env, "POSTGRES_PASSWORD": new}

    stale = run_script(releases[2], ["upgrade"], env)
    assert stale.rc == 0 and stale.records[0]["result"] == "failed"
    assert "password authentication failed" in stale.records[0]["error"]

    changed = run_script(releases[2], ["set-role-password"], {**env, "MSI_ROLE": role, "MSI_NEW_PASSWORD": new})
    assert changed.rc == 0 and changed.records == [{"role": role, "updated": 1}]

    fixed = run_script(releases[2], ["upgrade"], env)
    assert [(r["database"], r["result"]) for r in fixed.records] == [(db, "upgraded")]
    for run in (stale, changed, fixed):
        assert old not in run.stdout + run.stderr and new not in run.stdout + run.stderr


def test_unusable_internal_database_exits_1_with_one_line(pg, internal, releases):
    env = internal()
    for broken, says in (({"POSTGRES_PASSWORD": "wrong-pw-Qa1"}, "password authentication failed"),
                         ({"POSTGRES_HOST": ""}, "POSTGRES_DB, POSTGRES_USER and POSTGRES_HOST must all be set")):
        run = run_script(releases[2], ["upgrade"], {**env, **broken})
        assert run.rc == 1 and run.stdout == ""
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mathesar_sql: ") and says in lines[0], run.stderr
        assert "wrong-pw-Qa1" not in run.stderr and INTERNAL_PASSWORD not in run.stderr


def test_stored_passwords_only_decrypt_with_the_same_secret_key(pg, internal, releases):
    env = internal()
    db = unique("keyed")
    make_databases(releases[1], env, [db])
    replaced = run_script(releases[2], ["upgrade"], {**env, "SECRET_KEY": "another-key"})
    assert replaced.rc == 0 and replaced.records[0]["result"] == "failed"
    assert "password authentication failed" in replaced.records[0]["error"]
    kept = run_script(releases[2], ["upgrade"], env)
    assert [(r["database"], r["result"]) for r in kept.records] == [(db, "upgraded")]
