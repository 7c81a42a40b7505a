"""The Mathesar SQL schema bundle (issue 5): the ledger, the migrator and the
`schema` command against a real PostgreSQL, and schema upgrades at boot."""
import hashlib
import itertools
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness import INIT, Init, Volume, free_port

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "schema"
LEDGER = "mathesar_init.schema_ledger"
_names = itertools.count()


@pytest.fixture
def database(pg_server):
    """A fresh database owned by the test role, dropped afterwards."""
    name = f"schema_t{os.getpid()}_{next(_names)}"
    pg_server.sql(f'CREATE DATABASE "{name}" OWNER owner_role')
    yield name
    pg_server.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bundle(tmp_path):
    """A copy of the fixture bundle that a test may change."""
    path = tmp_path / "bundle"
    shutil.copytree(FIXTURE, path)
    return path


def schema(env, *args, timeout=60):
    """`mathesar-init schema ...` run directly (not as PID 1), as a user would with docker exec."""
    return subprocess.run([str(INIT), "schema", *args], env=env, capture_output=True, text=True, timeout=timeout)


def ledger(pg_server, database):
    rows = pg_server.sql(f"SELECT version, name FROM {LEDGER} ORDER BY version", database=database)
    return [tuple(line.split("|")) for line in rows.splitlines()]


def exists(pg_server, database, regclass_or_type):
    return pg_server.sql(f"SELECT to_regclass('{regclass_or_type}') IS NOT NULL", database=database) == "t"


def test_install_status_upgrade_uninstall_round_trip(pg_server, external_env, database, bundle):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)

    status = schema(env, "status", "--database", database)
    assert status.returncode == 0, status.stderr
    assert "installed: no" in status.stdout and "pending:   3 files" in status.stdout

    upgrade = schema(env, "upgrade", "--database", database)
    assert upgrade.returncode == 76
    assert f"schema install --database {database}" in upgrade.stderr

    install = schema(env, "install", "--database", database)
    assert install.returncode == 0, install.stderr
    assert f"schema: {database} 0 -> 3 (installed, 3 files," in install.stderr
    assert ledger(pg_server, database) == [("1", "msar_schema"), ("2", "email_domain"), ("3", "email_functions")]
    assert pg_server.sql("SELECT msar.email_domain('ada@example.org')", database=database) == "example.org"
    assert pg_server.sql("SELECT msar.email_local_part('ada@example.org')", database=database) == "ada"
    check = pg_server.sql("SELECT 'not an email'::msar.email", database=database, check=False)
    assert check == ""  # the domain's CHECK refuses it
    # Objects belong to the role that ran the files, and the ledger records checksum and time.
    assert pg_server.sql("SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'msar'", database=database) == "owner_role"
    row = pg_server.sql(f"SELECT checksum, applied_at <= now(), duration_ms >= 0 FROM {LEDGER} WHERE version = 2", database=database)
    assert row == hashlib.sha256((bundle / "0002_email_domain.sql").read_bytes()).hexdigest() + "|t|t"

    status = schema(env, "status", "--database", database)
    assert status.returncode == 0, status.stderr
    assert "installed: version 3 (email_functions)" in status.stdout
    assert "available: version 3 (email_functions)" in status.stdout and "pending:   none" in status.stdout

    again = schema(env, "install", "--database", database)
    assert again.returncode == 0 and f"schema: {database} at version 3, up to date" in again.stderr

    (bundle / "0004_email_normalize.sql").write_text(
        "CREATE FUNCTION msar.email_normalize(address msar.email) RETURNS msar.email\n"
        "LANGUAGE sql IMMUTABLE AS $$ SELECT lower(address)::msar.email $$;\n")
    status = schema(env, "status", "--database", database)
    assert "installed: version 3" in status.stdout and "available: version 4" in status.stdout
    assert "pending:   1 file\n  0004_email_normalize.sql" in status.stdout

    upgrade = schema(env, "upgrade", "--database", database)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"schema: {database} 3 -> 4 (1 file," in upgrade.stderr
    assert pg_server.sql("SELECT msar.email_normalize('Ada@Example.ORG')", database=database) == "ada@example.org"

    uninstall = schema(env, "uninstall", "--database", database)
    assert uninstall.returncode == 0, uninstall.stderr
    assert f"schema: {database} uninstalled (was version 4" in uninstall.stderr
    assert pg_server.sql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('msar', 'mathesar_init')", database=database) == "0"

    status = schema(env, "status", "--database", database)
    assert "installed: no" in status.stdout
    uninstall = schema(env, "uninstall", "--database", database)
    assert uninstall.returncode == 0 and "nothing to uninstall" in uninstall.stderr


def test_database_given_as_url_keeps_the_password_out_of_output(pg_server, external_env, database, bundle):
    url = f"postgresql://owner_role:owner-pw@127.0.0.1:{pg_server.port}/{database}?sslmode=disable"
    install = schema(external_env(MATHESAR_SCHEMA_DIR=bundle), "install", "--database", url)
    assert install.returncode == 0, install.stderr
    assert "owner-pw" not in install.stdout + install.stderr
    assert f"postgresql://owner_role:<redacted>@127.0.0.1:{pg_server.port}/{database}" in install.stderr
    assert len(ledger(pg_server, database)) == 3


def test_unreachable_database_exits_69(external_env, bundle):
    result = schema(external_env(MATHESAR_SCHEMA_DIR=bundle), "status", "--database", "no_such_database")
    assert result.returncode == 69
    assert "no_such_database" in result.stderr and "does not exist" in result.stderr


def test_missing_schema_dir_exits_78(external_env):
    result = schema(external_env(), "status", "--database", "owner_db")
    assert result.returncode == 78
    assert "MATHESAR_SCHEMA_DIR is not set" in result.stderr


@pytest.mark.parametrize("files,expected", [
    (["0001_a.sql", "0003_c.sql"], "no file numbered 0002"),
    (["0001_a.sql", "0002_b.sql", "0002_other.sql"], "two files numbered 2"),
    (["0001_a.sql", "2_b.sql"], "2_b.sql, which is not named NNNN_name.sql"),
])
def test_bad_numbering_is_a_configuration_error(external_env, tmp_path, files, expected):
    for name in files:
        (tmp_path / name).write_text("SELECT 1;\n")
    result = schema(external_env(MATHESAR_SCHEMA_DIR=tmp_path), "install", "--database", "owner_db")
    assert result.returncode == 78, result.stderr
    assert "MATHESAR_SCHEMA_DIR" in result.stderr and expected in result.stderr


def test_new_file_is_applied_at_boot(pg_server, external_env, database, bundle):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)
    assert schema(env, "install", "--database", database).returncode == 0
    (bundle / "0004_contacts.sql").write_text("CREATE TABLE msar.contacts (id serial PRIMARY KEY, address msar.email);\n")

    marker = bundle.parent / "app-started"
    init = Init(["run", "--", "sh", "-c", f"psql -tAc 'SELECT max(version) FROM {LEDGER}' > {marker}"],
                external_env(MATHESAR_SCHEMA_DIR=bundle, MATHESAR_SCHEMA_DATABASES=database, MATHESAR_RESTART="never",
                             PGHOST="127.0.0.1", PGPORT=pg_server.port, PGUSER="owner_role", PGPASSWORD="owner-pw",
                             PGDATABASE=database))
    assert init.wait(60) == 0, init.output
    assert f"schema: {database} 3 -> 4 (1 file," in init.output
    assert marker.read_text().strip() == "4"  # the app started after the upgrade
    assert exists(pg_server, database, "msar.contacts")


def test_listed_database_without_ledger_is_installed_at_boot(pg_server, external_env, database, bundle):
    init = Init(["migrate"], external_env(MATHESAR_SCHEMA_DIR=bundle, MATHESAR_SCHEMA_DATABASES=database))
    assert init.wait(60) == 0, init.output
    assert f"schema: {database} 0 -> 3 (installed, 3 files," in init.output
    assert len(ledger(pg_server, database)) == 3


def test_internal_database_is_upgraded_only_when_it_has_the_ledger(pg_server, volume, database, bundle):
    env = pg_server.external_env(volume, "owner_role", "owner-pw", database, MATHESAR_SCHEMA_DIR=bundle)
    init = Init(["migrate"], env)
    assert init.wait(60) == 0, init.output
    assert "no database has the Mathesar schema installed" in init.output
    assert not exists(pg_server, database, LEDGER)

    assert schema(env, "install", "--database", database).returncode == 0
    (bundle / "0004_more.sql").write_text("CREATE TABLE msar.more (id int);\n")
    init = Init(["migrate"], env)
    assert init.wait(60) == 0, init.output
    assert f"schema: {database} 3 -> 4 (1 file," in init.output


def test_edited_applied_file_is_refused_and_nothing_is_applied(pg_server, external_env, database, bundle):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)
    assert schema(env, "install", "--database", database).returncode == 0
    edited = bundle / "0002_email_domain.sql"
    edited.write_text(edited.read_text().replace("text", "varchar(320)", 1))
    (bundle / "0004_contacts.sql").write_text("CREATE TABLE msar.contacts (id int);\n")

    for run in (lambda: _upgrade(env, database),
                lambda: _migrate(external_env(MATHESAR_SCHEMA_DIR=bundle, MATHESAR_SCHEMA_DATABASES=database))):
        code, output = run()
        assert code == 76, output
        assert f"database {database}: 0002_email_domain.sql was changed after it was applied" in output
        assert f"nothing was applied to {database}" in output
        assert len(ledger(pg_server, database)) == 3
        assert not exists(pg_server, database, "msar.contacts")

    status = schema(env, "status", "--database", database)
    assert status.returncode == 76 and "0002_email_domain.sql was changed" in status.stderr


def _migrate(env):
    init = Init(["migrate"], env)
    code = init.wait(60)
    return code, init.output


def _upgrade(env, database):
    result = schema(env, "upgrade", "--database", database)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("broken,line,sqlstate,message", [
    # A parse-analysis error: the server gives the position.
    ("CREATE TABLE msar.half_done (id int);\n\nINSERT INTO msar.half_done\n  SELECT id FROM msar.no_such_table;\n",
     4, "42P01", 'relation "msar.no_such_table" does not exist'),
    # An error while executing: no position; the failing statement's start is reported.
    ("CREATE TABLE msar.half_done (note text);\n-- a comment; with a semicolon\nINSERT INTO msar.half_done VALUES ('x;y');\n\nSELECT 1 / 0;\n",
     5, "22012", "division by zero"),
    # Inside a DO block: the PL/pgSQL context is shown too.
    ("CREATE TABLE msar.half_done (id int);\nDO $$\nBEGIN\n  RAISE EXCEPTION 'boom %', 42;\nEND\n$$;\n",
     2, "P0001", "boom 42"),
])
def test_failing_file_rolls_back_and_the_ledger_stays(pg_server, external_env, database, bundle, broken, line, sqlstate, message):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)
    assert schema(env, "install", "--database", database).returncode == 0
    (bundle / "0004_broken.sql").write_text(broken)
    (bundle / "0005_after.sql").write_text("CREATE TABLE msar.after (id int);\n")

    for run in (lambda: _upgrade(env, database),
                lambda: _migrate(external_env(MATHESAR_SCHEMA_DIR=bundle, MATHESAR_SCHEMA_DATABASES=database))):
        code, output = run()
        assert code == 76, output
        assert f"database {database}, file 0004_broken.sql, line {line}" in output
        assert f"{message} (SQLSTATE {sqlstate})" in output
        assert "the ledger stays at version 3" in output
        assert [v for v, _ in ledger(pg_server, database)] == ["1", "2", "3"]
        assert not exists(pg_server, database, "msar.half_done")
        assert not exists(pg_server, database, "msar.after")

    (bundle / "0004_broken.sql").write_text("CREATE TABLE msar.fixed (id int);\n")
    assert schema(env, "upgrade", "--database", database).returncode == 0
    assert [v for v, _ in ledger(pg_server, database)] == ["1", "2", "3", "4", "5"]


def test_no_transaction_file_runs_outside_a_transaction(pg_server, external_env, database, bundle):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)
    assert schema(env, "install", "--database", database).returncode == 0
    pg_server.sql("SET ROLE owner_role; CREATE TABLE public.people (id int, address text);"
                  "INSERT INTO public.people SELECT g, g || '@x.org' FROM generate_series(1, 1000) g", database=database)
    (bundle / "0004_people_index.sql").write_text(
        "-- mathesar:no-transaction\n"
        "-- Built without blocking writes; CONCURRENTLY refuses to run in a transaction block.\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS people_address ON public.people (address);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS people_id ON public.people (id);\n")
    status = schema(env, "status", "--database", database)
    assert "0004_people_index.sql (no transaction)" in status.stdout

    upgrade = schema(env, "upgrade", "--database", database)
    assert upgrade.returncode == 0, upgrade.stderr
    assert pg_server.sql("SELECT count(*) FROM pg_index WHERE indrelid = 'public.people'::regclass AND indisvalid",
                         database=database) == "2"
    assert ledger(pg_server, database)[-1] == ("4", "people_index")


def test_failing_no_transaction_file_is_not_recorded(pg_server, external_env, database, bundle):
    env = external_env(MATHESAR_SCHEMA_DIR=bundle)
    assert schema(env, "install", "--database", database).returncode == 0
    (bundle / "0004_index.sql").write_text(
        "-- mathesar:no-transaction\n"
        "CREATE TABLE IF NOT EXISTS msar.t (id int);\n"
        "CREATE INDEX CONCURRENTLY t_id ON msar.t (no_such_column);\n")
    result = schema(env, "upgrade", "--database", database)
    assert result.returncode == 76
    assert f"database {database}, file 0004_index.sql, line 3: column \"no_such_column\" does not exist (SQLSTATE 42703)" in result.stderr
    assert "first 1 statement(s) stay applied" in result.stderr
    assert len(ledger(pg_server, database)) == 3


def test_concurrent_migrate_processes_apply_each_file_once(pg_server, tmp_path, database, bundle):
    # A slow file keeps the lock held while the others arrive; the last file
    # builds an index CONCURRENTLY while the others wait for the lock, which
    # deadlocks runners that wait in a blocking pg_advisory_lock.
    (bundle / "0004_runs.sql").write_text(
        "CREATE TABLE msar.runs (file text, pid int DEFAULT pg_backend_pid());\n"
        "INSERT INTO msar.runs (file) VALUES ('0004');\n"
        "SELECT pg_sleep(0.5);\n")
    (bundle / "0005_runs_index.sql").write_text(
        "-- mathesar:no-transaction\n"
        "INSERT INTO msar.runs (file) VALUES ('0005');\n"
        "CREATE INDEX CONCURRENTLY runs_file ON msar.runs (file);\n")
    inits = []
    for i in range(4):
        root = tmp_path / f"volume{i}"
        root.mkdir()
        os.chmod(root, 0o755)
        env = pg_server.external_env(Volume(root), "owner_role", "owner-pw", "owner_db",
                                     MATHESAR_SCHEMA_DIR=bundle, MATHESAR_SCHEMA_DATABASES=database)
        inits.append(Init(["migrate"], env))
    codes = [init.wait(90) for init in inits]
    outputs = [init.output for init in inits]
    assert codes == [0, 0, 0, 0], "\n-----\n".join(outputs)
    assert sum(f"schema: {database} 0 -> 5 (installed, 5 files," in out for out in outputs) == 1, "\n-----\n".join(outputs)
    assert sum(f"schema: {database} at version 5, up to date" in out for out in outputs) == 3
    assert pg_server.sql("SELECT string_agg(file, ',' ORDER BY file) FROM msar.runs", database=database) == "0004,0005"
    assert [v for v, _ in ledger(pg_server, database)] == ["1", "2", "3", "4", "5"]


def test_bundled_server_upgrades_every_database_that_has_the_ledger(volume, bundle):
    port = free_port()
    env = volume.env(POSTGRES_PORT=port, MATHESAR_RESTART="never", MATHESAR_SCHEMA_DIR=bundle)
    socket_dir = volume.run / "postgresql"

    def psql(database, statement):
        return subprocess.run(["psql", "-h", str(socket_dir), "-p", str(port), "-U", "postgres", "-d", database,
                               "-v", "ON_ERROR_STOP=1", "-tAc", statement], capture_output=True, text=True, check=True).stdout.strip()

    # First boot installs into the listed internal database; `schema install`
    # (as with docker exec) reaches the running server over its private socket.
    init = Init(["run", "--", "sleep", "60"], {**env, "MATHESAR_SCHEMA_DATABASES": "mathesar_django"})
    init.wait_for(r"app: started", timeout=60)
    assert "schema: mathesar_django 0 -> 3 (installed, 3 files," in init.output
    # Databases on the internal server are Mathesar's own (it creates them as its role, no superuser).
    psql("postgres", "CREATE DATABASE sales OWNER mathesar")
    psql("postgres", "CREATE DATABASE unmanaged OWNER mathesar")
    install = schema(env, "install", "--database", "sales")
    assert install.returncode == 0, install.stderr
    # The files ran as the role Mathesar connects as, not as the bootstrap superuser.
    assert psql("sales", "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'msar'") == "mathesar"
    init.signal(signal.SIGTERM)
    assert init.wait() == 143, init.output

    stopped = schema(env, "status", "--database", "sales")
    assert stopped.returncode == 69 and "runs only while mathesar-init runs" in stopped.stderr

    # Second boot: nothing listed, both databases with the ledger are found and upgraded.
    (bundle / "0004_more.sql").write_text("CREATE TABLE msar.more (id int);\n")
    init = Init(["migrate"], env)
    assert init.wait(60) == 0, init.output
    assert "schema: mathesar_django 3 -> 4 (1 file," in init.output
    assert "schema: sales 3 -> 4 (1 file," in init.output
    assert "unmanaged" not in init.output and "schema: postgres" not in init.output
