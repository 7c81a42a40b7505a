"""Collation drift: a database's or a collation's recorded version differs from
what the library provides now (faked here by writing an old version into the
catalog as superuser, which is what an image with a newer glibc or ICU looks
like to PostgreSQL). Boot fixes the internal database by itself and reports
every other one once with its fix; `check` reports them while the container
runs; `reindex --database NAME` fixes one, running or stopped."""
import signal
import subprocess

from harness import APPS, INIT, PYTHON, Init, free_port
from test_backup import beside, make_volume, psql_socket, _remove_volumes  # noqa: F401 (fixture)

ICU = '"und-x-icu"'


def env_for(volume, port, **extra):
    return volume.env(POSTGRES_PORT=port, MATHESAR_RESTART="never", **extra)


def running(env):
    init = Init(["run", "--", "sleep", "600"], env)
    init.wait_for("app: started")
    return init


def stop(init):
    init.signal(signal.SIGTERM)
    assert init.wait() == 143, init.output


def collversion(volume, port, database):
    return psql_socket(volume, port, f"SELECT collversion = pg_collation_actual_version(oid) FROM pg_collation WHERE collname = 'und-x-icu'", database)


def test_drift_is_fixed_in_the_internal_database_reported_for_the_others_and_reindex_fixes_them(tmp_path):
    volume = make_volume(tmp_path, "coll")
    port = free_port()
    env = env_for(volume, port)
    init = running(env)
    for db in ("mathesar_django", "sales"):
        if db != "mathesar_django":
            psql_socket(volume, port, f"CREATE DATABASE {db} OWNER mathesar")
        psql_socket(volume, port, f"CREATE TABLE names (n text COLLATE {ICU}); CREATE INDEX names_n ON names (n); "
                                  "INSERT INTO names SELECT 'name ' || g FROM generate_series(1, 100) g", db)
    psql_socket(volume, port, "CREATE DATABASE icu_db TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'")
    psql_socket(volume, port, "CREATE TABLE words (w text); CREATE INDEX words_w ON words (w); CREATE INDEX words_len ON words (length(w))", "icu_db")
    # What a newer library looks like: the versions recorded when the indexes were built are old.
    for db in ("mathesar_django", "sales"):
        psql_socket(volume, port, "UPDATE pg_collation SET collversion = '1.0' WHERE collname = 'und-x-icu'", db)
    psql_socket(volume, port, "UPDATE pg_database SET datcollversion = '1.0' WHERE datname = 'icu_db'")

    # check, beside the running container, reports all three.
    r = beside(env, "check")
    out = r.stdout.decode()
    for db in ("mathesar_django", "sales", "icu_db"):
        assert f"database {db}: collation changed under it" in out, out
    assert "mathesar-init reindex --database sales" in out and "the next boot does this by itself" in out
    assert "public.words_w" in out and "words_len" not in out  # an index over no text is not affected
    stop(init)

    init = running(env)
    out = init.output
    assert "database mathesar_django: rebuilt 1 index after a collation change" in out, out
    assert out.count("database sales: collation changed under it") == 1
    assert out.count("database icu_db: collation changed under it") == 1
    assert "its default collation: recorded version 1.0" in out
    assert "Fix: mathesar-init reindex --database icu_db" in out
    assert collversion(volume, port, "mathesar_django") == "t" and collversion(volume, port, "sales") == "f"

    # Running: through the server's socket.
    r = beside(env, "reindex", "--database", "sales")
    assert r.returncode == 0, r.stderr.decode()
    assert "database sales: rebuilt 1 index" in r.stdout.decode() + r.stderr.decode()
    assert collversion(volume, port, "sales") == "t"
    stop(init)

    # Stopped: a private boot, then a clean stop.
    reindex = Init(["reindex", "--database", "icu_db"], env)
    assert reindex.wait(90) == 0, reindex.output
    assert "database icu_db: rebuilt 1 index" in reindex.output
    assert volume.controldata_state() == "shut down"

    init = running(env)
    assert "collation changed" not in init.output and "rebuilt" not in init.output, init.output
    r = beside(env, "reindex", "--database", "sales")
    assert r.returncode == 0 and "nothing to rebuild" in r.stdout.decode() + r.stderr.decode()
    r = beside(env, "reindex", "--database", "nosuch")
    assert r.returncode == 69 and "nosuch" in r.stdout.decode() + r.stderr.decode()
    stop(init)
