"""The stand-in run by mathesar-init as PID 1 the way Mathesar's image runs
Mathesar (bundled PostgreSQL, `python -m mathesar.install`, gunicorn serving
config.wsgi, the SQL script as MATHESAR_SQL_UPGRADE_COMMAND): uploads land in
the volume, the key and stored connections survive a new release, the
Mathesar SQL of every user database is upgraded at boot, and a changed
POSTGRES_PASSWORD leaves "create new" databases connectable."""
import os
import re
import shutil
import signal
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness import Init, Volume, free_port
from standin import PYTHON, SCRIPT, VENV, Client


@pytest.fixture
def volume():
    root = Path(tempfile.mkdtemp(prefix="msi-standin-vol-"))
    os.chmod(root, 0o755)
    yield Volume(root)
    shutil.rmtree(root, ignore_errors=True)


def boot(volume, release_dir, port, db_port, **extra):
    settings = dict(
        PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        DJANGO_SETTINGS_MODULE="config.settings.production", SKIP_STATIC_COLLECTION="true",
        POSTGRES_PORT=db_port, WEB_CONCURRENCY="1",
        MATHESAR_MIGRATE_COMMAND=f"{PYTHON} -m mathesar.install",
        MATHESAR_SQL_UPGRADE_COMMAND=f"{PYTHON} {SCRIPT}")
    env = volume.env(**{**settings, **extra})
    init = Init(["run", "--", str(VENV / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}"], env,
                cwd=release_dir)
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/standin/version/", timeout=5) as r:
                assert r.read().decode().strip()
                return init
        except (urllib.error.URLError, ConnectionError):
            assert init.proc.poll() is None and time.monotonic() < deadline, init.output
            time.sleep(0.05)


def stop(init):
    init.signal(signal.SIGTERM)
    assert init.wait(60) == 0, init.output


def test_a_new_release_keeps_uploads_key_and_connections_and_upgrades_the_sql(volume, releases):
    port, db_port = free_port(), free_port()
    init = boot(volume, releases[1], port, db_port)
    client = Client(f"http://127.0.0.1:{port}")
    try:
        client.complete_installation()
        ids = [client.call("databases.setup.create_new", database=name)["database"]["id"] for name in ("sales", "hr", "crm")]
        assert client.upload("people.csv", b"name\nada\n").status in (200, 201)
    finally:
        stop(init)
    upload = volume.data / "media" / "admin" / "people.csv"
    assert upload.read_bytes() == b"name\nada\n"  # in the volume, not in the app's directory
    assert not (releases[1] / ".media").exists()
    key = (volume.data / "secrets" / "secret_key").read_text()

    # Release 2 on the same volume: every user database's SQL upgraded at boot, beside the app.
    init = boot(volume, releases[2], port, db_port)
    try:
        for name in ("sales", "hr", "crm"):
            init.wait_for(rf"schema: {name} 0\.10\.0 -> 0\.11\.0 \(\d+ m?s\)", timeout=120)
        status = volume.status()["sql"]
        assert {d["database"] for d in status["databases"] if d["result"] == "upgraded"} >= {"sales", "hr", "crm"}, status
        # The session made before survives (same key); a stored connection is usable.
        for database_id in ids:
            assert client.call("databases.upgrade_sql", database_id=database_id) is None
    finally:
        stop(init)
    assert (volume.data / "secrets" / "secret_key").read_text() == key
    assert upload.read_bytes() == b"name\nada\n"

    # A new POSTGRES_PASSWORD: the role changes, and so does Mathesar's stored copy.
    init = boot(volume, releases[2], port, db_port, POSTGRES_PASSWORD="a-new-password-42")
    try:
        init.wait_for(r"credentials: password of role mathesar changed; updated in [1-9]\d* stored connections?", timeout=60)
        for database_id in ids:
            assert client.call("databases.upgrade_sql", database_id=database_id) is None
    finally:
        stop(init)
    assert "a-new-password-42" not in init.output


def test_without_the_script_a_changed_password_says_what_to_do(volume, releases):
    port, db_port = free_port(), free_port()
    stop(boot(volume, releases[2], port, db_port))
    init = boot(volume, releases[2], port, db_port, POSTGRES_PASSWORD="another-password-7", MATHESAR_SQL_UPGRADE_COMMAND="")
    stop(init)
    assert re.search(r"the password of role mathesar changed at this boot; .* in Mathesar, enter the new password", init.output), init.output
