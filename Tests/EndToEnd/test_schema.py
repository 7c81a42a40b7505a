"""Mathesar's own SQL in the user databases, upgraded through the app's
installer (MATHESAR_SQL_UPGRADE_COMMAND) beside the app, in `migrate`, and
by `schema status|upgrade|uninstall`. The command is a stand-in speaking the
app script's protocol from a table in the test PostgreSQL (apps/sql_upgrade.py)."""
import itertools
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from harness import APPS, INIT, PYTHON, Init, free_port

_tables = itertools.count()
SEED = [["sales", 1, "1.0", None], ["crm", 2, "1.0", None], ["hr", 3, "2.0", None],
        ["broken", 4, "1.0", "OperationalError: connection to server at \"db\" failed: Connection refused"]]
COMMAND = f"{PYTHON} {APPS / 'sql_upgrade.py'}"


@pytest.fixture
def table(pg_server):
    name = f"sqlfix_{os.getpid()}_{next(_tables)}"
    yield name
    pg_server.sql(f"DROP TABLE IF EXISTS {name}, {name}_runs", database="owner_db")


@pytest.fixture
def sql_env(external_env, table):
    def make(seed=SEED, **extra):
        return external_env(MATHESAR_SQL_UPGRADE_COMMAND=COMMAND, FIXTURE_TABLE=table, FIXTURE_SEED=json.dumps(seed), **extra)
    return make


def versions(pg_server, table):
    rows = pg_server.sql(f"SELECT name, version FROM {table} ORDER BY id", database="owner_db")
    return dict(line.split("|") for line in rows.splitlines())


def runs(pg_server, table):
    rows = pg_server.sql(f"SELECT action, name FROM {table}_runs ORDER BY n", database="owner_db")
    return [tuple(line.split("|")) for line in rows.splitlines()]


def http_server(port):
    return ["run", "--", PYTHON, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def get(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        return r.status


def wait_for_status(volume, check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = volume.status()
        if status and check(status):
            return status
        time.sleep(0.01)
    raise AssertionError(f"status.json never matched: {volume.status()}")


def schema(env, *args, timeout=60):
    """`mathesar-init schema ...` as a user runs it (not as PID 1)."""
    return subprocess.run([str(INIT), "schema", *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_the_app_serves_before_the_upgrade_finishes_then_each_database_is_logged_and_in_status(
        sql_env, volume, pg_server, table, tmp_path):
    gate = tmp_path / "gate"
    port = free_port()
    init = Init(http_server(port), sql_env(FIXTURE_GATE=gate))
    with init:
        init.wait_for("fixture: waiting for the gate")
        init.wait_for("Serving HTTP on")
        # The upgrade is blocked on the gate, and the app already answers.
        assert get(port) == 200
        assert volume.status()["sql"]["state"] == "running"
        assert runs(pg_server, table) == []
        gate.touch()
        init.wait_for(r"schema: Mathesar SQL of 4 databases: 2 upgraded, 1 current, 1 failed")
        out = init.output
        assert "mathesar-init | schema: sales 1.0 -> 2.0 (" in out
        assert "mathesar-init | schema: crm 1.0 -> 2.0 (" in out
        assert "schema: hr" not in out  # already current: counted, not listed
        assert "warning: schema: broken was not upgraded (1.0 -> 2.0): OperationalError: connection to server" in out
        assert "schema        | fixture: upgrade of 4 databases" in out  # other lines pass through, tagged
        assert "app keeps serving" in out
        status = wait_for_status(volume, lambda s: s["sql"]["state"] == "done")
        results = {d["database"]: d for d in status["sql"]["databases"]}
        assert {n: d["result"] for n, d in results.items()} == {"sales": "upgraded", "crm": "upgraded", "hr": "current", "broken": "failed"}
        assert results["sales"]["from"] == "1.0" and results["sales"]["to"] == "2.0"
        assert "Connection refused" in results["broken"]["error"]
        assert status["services"]["app"]["state"] == "running" and status["services"]["schema"]["state"] == "stopped"
        assert get(port) == 200  # a failed database does not stop the app
        assert versions(pg_server, table) == {"sales": "2.0", "crm": "2.0", "hr": "2.0", "broken": "1.0"}
        assert runs(pg_server, table) == [("upgrade", "sales"), ("upgrade", "crm"), ("upgrade", "broken")]
        init.signal(signal.SIGTERM)
        assert init.wait() == 128 + signal.SIGTERM, init.output


def test_a_failing_command_is_a_warning_and_the_app_keeps_running(sql_env, volume):
    port = free_port()
    init = Init(http_server(port), sql_env(FIXTURE_EXIT="1"))
    with init:
        init.wait_for(r"MATHESAR_SQL_UPGRADE_COMMAND exited with status 1; the app keeps running")
        init.wait_for("Serving HTTP on")
        assert get(port) == 200
        assert "schema        | sql_upgrade: exiting 1 as asked" in init.output
        assert wait_for_status(volume, lambda s: s["sql"]["state"] == "failed")["phase"] == "running"
        init.signal(signal.SIGTERM)
        assert init.wait() == 143


def test_a_stop_during_the_upgrade_stops_it_like_the_app_and_is_clean(sql_env, volume, tmp_path):
    port = free_port()
    init = Init(http_server(port), sql_env(FIXTURE_GATE=tmp_path / "never"))
    with init:
        init.wait_for("fixture: waiting for the gate")
        init.wait_for("Serving HTTP on")
        init.signal(signal.SIGTERM)
        assert init.wait() == 143, init.output
    out = init.output
    assert "schema: stopped before it finished (0 databases done" in out
    assert "did not stop within" not in out and "SIGKILL" not in out
    assert "MATHESAR_SQL_UPGRADE_COMMAND exited" not in out  # a stopped upgrade is not a failure
    status = volume.status()
    assert status["sql"]["state"] == "stopped" and status["phase"] == "stopped"


def test_migrate_runs_the_upgrade_in_the_foreground_after_the_migrate_command(sql_env, pg_server, table):
    init = Init(["migrate"], sql_env(MATHESAR_MIGRATE_COMMAND="echo migrations ran"))
    assert init.wait() == 0, init.output
    out = init.output
    assert out.index("migrate       | migrations ran") < out.index("schema: sales 1.0 -> 2.0") < out.index("migrate: done; stopping")
    assert "schema: Mathesar SQL of 4 databases: 2 upgraded, 1 current, 1 failed" in out
    assert versions(pg_server, table)["crm"] == "2.0"


def test_schema_status_upgrade_and_uninstall(sql_env, pg_server, table):
    env = sql_env()
    status = schema(env, "status")
    assert status.returncode == 0, status.stderr
    assert "sales: Mathesar SQL 1.0; the app is 2.0: needs an upgrade (mathesar-init schema upgrade --database sales)" in status.stdout
    assert "hr: Mathesar SQL 2.0: current" in status.stdout
    assert "fixture:" not in status.stdout  # the command's other lines go to the log (stderr), not the results
    assert "schema        | fixture: status of 4 databases" in status.stderr
    assert runs(pg_server, table) == []

    one = schema(env, "upgrade", "--database", "sales")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("sales: upgraded 1.0 -> 2.0 (")
    assert runs(pg_server, table) == [("upgrade", "sales")]

    every = schema(env, "upgrade")
    assert every.returncode == 76, every.stderr  # one database failed
    assert "sales: current (2.0)" in every.stdout and "crm: upgraded 1.0 -> 2.0" in every.stdout
    assert "broken: failed: OperationalError" in every.stdout

    removed = schema(env, "uninstall", "--database", "crm")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("crm: uninstalled (")
    assert versions(pg_server, table)["crm"] == "0.0.0"

    unknown = schema(env, "uninstall", "--database", "nope")
    assert unknown.returncode == 64
    assert "no database named 'nope'" in unknown.stderr


@pytest.mark.parametrize("args", [["uninstall"], ["status", "--database", "x"], ["drop"], ["upgrade", "--database"]])
def test_schema_usage_errors_exit_64(sql_env, args):
    result = schema(sql_env(), *args)
    assert result.returncode == 64, result.stderr


def test_schema_without_the_command_exits_78_naming_the_variable(external_env, volume):
    result = schema(external_env(), "status")
    assert result.returncode == 78
    assert "MATHESAR_SQL_UPGRADE_COMMAND is not set" in result.stderr
    assert not volume.data.exists()  # refused before anything was written


def test_schema_status_boots_the_bundled_database_and_stops_it(volume, table):
    port = free_port()
    env = volume.env(POSTGRES_PORT=port, MATHESAR_SQL_UPGRADE_COMMAND=COMMAND, FIXTURE_TABLE=table,
                     FIXTURE_SEED=json.dumps(SEED[:1]))
    result = schema(env, "status", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sales: Mathesar SQL 1.0; the app is 2.0: needs an upgrade (mathesar-init schema upgrade --database sales)\n"
    assert "PostgreSQL" in result.stderr and "exiting with status 0" in result.stderr
    assert volume.controldata_state() == "shut down"


def test_retired_schema_bundle_variables_warn_and_boot_goes_on(external_env, tmp_path):
    marker = tmp_path / "ran"
    env = external_env(MATHESAR_RESTART="never", MATHESAR_SCHEMA_DIR="/nonexistent/schema",
                       MATHESAR_SCHEMA_DATABASES="sales,mysql://x/y")
    init = Init(["run", "--", "touch", str(marker)], env)
    assert init.wait() == 0, init.output
    assert marker.exists()
    for name in ("MATHESAR_SCHEMA_DIR", "MATHESAR_SCHEMA_DATABASES"):
        assert f"{name} is no longer used and is ignored" in init.output, init.output
    assert "did you mean" not in init.output
