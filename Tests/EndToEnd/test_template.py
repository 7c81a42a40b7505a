"""`mathesar-init prepare` and the first boot from its template cluster, and
MATHESAR_MIGRATE=changed|always|never: real PostgreSQL 15, the real binary as
PID 1, a migrate command shaped like Django's (apps/migrate_app.py) that
records its migrations in django_migrations and counts its runs."""
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import APPS, PG_BIN, PYTHON, Init, PostgresServer, base_env, free_port

MIGRATE = f"{PYTHON} {APPS / 'migrate_app.py'}"
WHOAMI = [PYTHON, str(APPS / "db_app.py")]


def runs(log):
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def made():
    """One template for the module: prepare with the test migrate command and
    an app whose fingerprint is one file (release 1)."""
    root = Path(tempfile.mkdtemp(prefix="msi-template-"))
    os.chmod(root, 0o755)
    app = root / "app"
    app.mkdir()
    (app / "version").write_text("1\n")
    log = root / "prepare-runs"
    env = base_env(MATHESAR_TEMPLATE_DIR=root / "template", POSTGRES_PORT=free_port(), MATHESAR_PG_BINDIR=PG_BIN,
                   MATHESAR_APP_FINGERPRINT_PATHS=app, MATHESAR_MIGRATE_COMMAND=MIGRATE, RUNS_LOG=log)
    init = Init(["prepare"], env)
    code = init.wait(180)
    assert code == 0, init.output
    yield {"root": root, "template": root / "template", "app": app, "prepare_log": log, "output": init.output}
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def boot_env(made, volume, tmp_path):
    """A boot of the module's app against the module's template."""
    app = tmp_path / "app"
    shutil.copytree(made["app"], app)
    log = tmp_path / "runs"

    def make(**extra):
        settings = dict(MATHESAR_TEMPLATE_DIR=made["template"], MATHESAR_PG_BINDIR=PG_BIN, MATHESAR_RESTART="never",
                        MATHESAR_APP_FINGERPRINT_PATHS=app, MATHESAR_MIGRATE_COMMAND=MIGRATE, RUNS_LOG=log,
                        POSTGRES_PORT=free_port())
        settings.update(extra)
        return volume.env(**{k: v for k, v in settings.items() if v is not None})
    make.app, make.log = app, log
    return make


def boot(env, args=None, timeout=120, code=0):
    init = Init(["run", "--", *(args or WHOAMI)], env)
    assert init.wait(timeout) == code, init.output
    return init.output


def manifest(template):
    return json.loads((template / "manifest.json").read_text())


def test_prepare_makes_a_template_with_its_manifest_and_no_secret(made):
    m = manifest(made["template"])
    assert m["postgres_major"] == 15 and "PostgreSQL) 15." in m["postgres_version"]
    assert (m["locale"], m["encoding"], m["role"], m["database"]) == ("C.UTF-8", "UTF8", "mathesar", "mathesar_django")
    assert m["app_fingerprint"] and m["database_fingerprint"] and len(m["checksum"]) == 64
    assert runs(made["prepare_log"]) == ["ran 0001_initial"]
    cluster = made["template"] / "cluster"
    assert (cluster / "PG_VERSION").read_text().strip() == "15"
    assert not (cluster / "postmaster.pid").exists(), "the template's server was not stopped cleanly"
    # Root's, and nobody else can change it; no scratch volume left beside it.
    for path in [made["template"], *made["template"].rglob("*")]:
        st = path.lstat()
        assert st.st_uid == 0 and not st.st_mode & 0o022, (path, oct(st.st_mode))
        assert stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode), path
    assert sorted(p.name for p in made["root"].iterdir()) == ["app", "prepare-runs", "template"]
    assert "prepare: template cluster in" in made["output"]


def test_the_templates_role_can_never_log_in(made):
    """The template's role has no password (NULL): no password (a space, its own name, the superuser's, a guess)
    gets in over TCP, and pg_authid holds nothing."""
    pg = pwd.getpwnam("postgres")
    server = PostgresServer()
    try:
        shutil.copytree(made["template"] / "cluster", server.data)
        for path in [server.data, *server.data.rglob("*")]:
            os.chown(path, pg.pw_uid, pg.pw_gid)
        os.chmod(server.data, 0o700)
        server.start()
        assert server.sql("SELECT rolpassword IS NULL, rolcanlogin FROM pg_authid WHERE rolname = 'mathesar'") == "t|t"
        for guess in [" ", "mathesar", "postgres", "placeholder"]:
            r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "mathesar", "-d", "mathesar_django",
                                "-w", "-tAc", "SELECT 1"], capture_output=True, text=True,
                               env=base_env(PGPASSWORD=guess, PGCONNECT_TIMEOUT="5"))
            assert r.returncode != 0 and "password authentication failed" in r.stderr, (guess, r.stdout, r.stderr)
    finally:
        server.destroy()


def test_first_boot_copies_the_template_and_skips_the_migrate_command_then_warm_boots_skip_it(boot_env, volume):
    out = boot(boot_env())
    assert "a new cluster will be copied from the template" in out, out
    assert "created the PostgreSQL 15 cluster from the template" in out, out
    assert "migrate: skipped: neither the app" in out, out
    # The generated password was set at this first boot: the app logs in with it.
    assert "connected as mathesar to 127.0.0.1" in out, out
    assert runs(boot_env.log) == []
    assert not list(volume.data.glob("postgres.*")), "a temporary directory was left"
    st = volume.pgdata.stat()
    assert st.st_uid == pwd.getpwnam("postgres").pw_uid and stat.S_IMODE(st.st_mode) == 0o700
    out = boot(boot_env())
    assert "from the template" not in out and "migrate: skipped: neither the app" in out, out
    assert runs(boot_env.log) == []
    assert volume.controldata_state() == "shut down"


def test_a_changed_app_runs_the_migrate_command_once_then_skips_again(boot_env):
    boot(boot_env())
    (boot_env.app / "version").write_text("2\n")
    out = boot(boot_env(MIGRATIONS="0001_initial,0002_more"))
    assert "(the app changed (fingerprint" in out, out
    assert runs(boot_env.log) == ["ran 0001_initial,0002_more"]
    assert "internal database mathesar_django: 2 migrations recorded" in out, out
    out = boot(boot_env(MIGRATIONS="0001_initial,0002_more"))
    assert "migrate: skipped" in out, out
    assert len(runs(boot_env.log)) == 1


def test_always_runs_every_boot_and_never_skips_even_a_changed_app(boot_env):
    boot(boot_env(MATHESAR_MIGRATE="always"))
    out = boot(boot_env(MATHESAR_MIGRATE="always"))
    assert "(MATHESAR_MIGRATE=always)" in out, out
    assert len(runs(boot_env.log)) == 2
    (boot_env.app / "version").write_text("2\n")
    out = boot(boot_env(MATHESAR_MIGRATE="never"))
    assert "migrate: skipped (MATHESAR_MIGRATE=never" in out, out
    assert len(runs(boot_env.log)) == 2


def test_without_app_fingerprint_paths_changed_always_runs(boot_env):
    out = boot(boot_env(MATHESAR_APP_FINGERPRINT_PATHS=None))
    assert "MATHESAR_APP_FINGERPRINT_PATHS is not set" in out, out
    assert len(runs(boot_env.log)) == 1


def test_a_failed_run_is_run_again_at_the_next_boot(boot_env, volume):
    boot(boot_env())
    (boot_env.app / "version").write_text("2\n")
    out = boot(boot_env(FAIL="1"), code=76)
    assert "MATHESAR_MIGRATE_COMMAND exited with status 1" in out, out
    # The rows the failed run left are the same ones a success would leave: only the record tells.
    out = boot(boot_env())
    assert "no record of a successful run" in out, out
    assert len(runs(boot_env.log)) == 2
    assert "migrate: skipped" in boot(boot_env())


def test_an_interrupted_run_is_run_again_at_the_next_boot(boot_env):
    boot(boot_env())
    (boot_env.app / "version").write_text("2\n")
    init = Init(["run", "--", *WHOAMI], boot_env(HOLD="1"))
    try:
        init.wait_for("migrate: holding", timeout=120)
    finally:
        init.kill()
    out = boot(boot_env())
    assert "no record of a successful run" in out, out
    assert len(runs(boot_env.log)) == 2


def test_a_database_restored_from_an_older_dump_runs_the_migrate_command(boot_env, tmp_path):
    """Release 1's database is dumped, release 2 migrates it, then the old
    dump is restored with the same app: the database changed, so it runs."""
    dump = tmp_path / "release1.dump"
    connect = '-h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER"'
    out = boot(boot_env(), ["sh", "-c", f'PGPASSWORD="$POSTGRES_PASSWORD" {PG_BIN}/pg_dump {connect} -Fc -f {dump} "$POSTGRES_DB"'])
    assert dump.exists(), out
    (boot_env.app / "version").write_text("2\n")
    boot(boot_env(MIGRATIONS="0001_initial,0002_more"))
    assert len(runs(boot_env.log)) == 1
    restore = f'PGPASSWORD="$POSTGRES_PASSWORD" {PG_BIN}/pg_restore {connect} --clean --if-exists -d "$POSTGRES_DB" {dump}'
    out = boot(boot_env(MIGRATIONS="0001_initial,0002_more"), ["sh", "-c", restore])
    assert "migrate: skipped" in out, out
    out = boot(boot_env(MIGRATIONS="0001_initial,0002_more"))
    assert "the internal database changed since the last success" in out, out
    assert "internal database mathesar_django: 2 migrations recorded" in out, out
    assert len(runs(boot_env.log)) == 2


def test_the_sql_upgrade_runs_only_when_the_app_changed(boot_env, tmp_path):
    sql_log = tmp_path / "sql-runs"
    command = "sh -c 'echo ran >> \"$SQL_LOG\"'"
    env = dict(MATHESAR_SQL_UPGRADE_COMMAND=command, SQL_LOG=sql_log)
    out = boot(boot_env(**env))
    assert "schema: skipped: the app (fingerprint" in out, out
    (boot_env.app / "version").write_text("2\n")
    boot(boot_env(**env))
    assert runs(sql_log) == ["ran"]
    out = boot(boot_env(**env))
    assert "schema: skipped" in out, out
    assert runs(sql_log) == ["ran"]


def damage_checksum(template):
    (template / "cluster" / "global" / "pg_filenode.map").write_bytes(b"\0" * 10)


def edit_manifest(**changes):
    def edit(template):
        m = manifest(template)
        m.update(changes)
        (template / "manifest.json").write_text(json.dumps(m))
    return edit


@pytest.mark.parametrize("damage,why", [
    (None, "no template cluster in"),
    (edit_manifest(postgres_major=14), "was made by PostgreSQL 14, and the server is PostgreSQL 15"),
    (edit_manifest(locale="C"), "with locale C and encoding UTF8, and initdb here would use C.UTF-8"),
    (edit_manifest(database="other"), "for POSTGRES_USER=mathesar and POSTGRES_DB=other"),
    (damage_checksum, "does not match the manifest's checksum"),
], ids=["missing", "major", "locale", "database", "checksum"])
def test_a_template_that_does_not_fit_falls_back_to_initdb_saying_why(made, boot_env, volume, damage, why):
    root = Path(tempfile.mkdtemp(prefix="msi-template-damaged-"))
    os.chmod(root, 0o755)  # the postgres account reads the template
    template = root / "template"
    if damage:
        shutil.copytree(made["template"], template)
        damage(template)
    try:
        out = boot(boot_env(MATHESAR_TEMPLATE_DIR=template))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert why in out, out
    assert "created a PostgreSQL 15 cluster in" in out, out
    assert "connected as mathesar" in out, out
    assert len(runs(boot_env.log)) == 1, "a cluster made by initdb is migrated"
    assert not list(volume.data.glob("postgres.*")), "a temporary directory was left"


def test_external_mode_skips_the_migrate_command_when_nothing_changed(external_env, pg_server, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "version").write_text("1\n")
    log = tmp_path / "runs"
    pg_server.sql("DROP TABLE IF EXISTS django_migrations", database="owner_db")
    env = external_env(MATHESAR_APP_FINGERPRINT_PATHS=app, MATHESAR_MIGRATE_COMMAND=MIGRATE, RUNS_LOG=log,
                       MATHESAR_RESTART="never")
    out = boot(env)
    assert "no record of a successful run" in out, out
    out = boot(env)
    assert "migrate: skipped: neither the app" in out, out
    assert len(runs(log)) == 1
    # Another replica (or an operator) migrated the shared database: it changed.
    pg_server.sql("INSERT INTO django_migrations (app, name) VALUES ('mathesar', '0002_elsewhere')", database="owner_db")
    out = boot(env)
    assert "the internal database changed since the last success" in out, out
    assert len(runs(log)) == 2
