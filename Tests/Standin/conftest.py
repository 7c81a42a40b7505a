"""Fixtures for the stand-in's tests: its own venv (made once, kept in
.cache), a real PostgreSQL server holding the internal databases, and the
two releases of the stand-in."""
import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from standin import INTERNAL_PASSWORD, PYTHON, STANDIN, VENV, app_env, make_release, run_install, unique
from harness import PostgresServer

TEMPLATE = "standin_migrated"


@pytest.fixture(scope="session", autouse=True)
def standin_venv():
    """A venv with exactly docker/standin/requirements.txt, made again only
    when that file changed (a copy of it marks a finished install)."""
    requirements = STANDIN / "requirements.txt"
    marker = VENV / ".requirements"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "standin-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be making it
        pip = VENV / "bin" / "pip"
        # A venv made at another path (a moved or removed checkout) has scripts whose #! points there.
        made_here = pip.exists() and pip.read_text(errors="replace").startswith(f"#!{VENV}/bin/")
        if not (made_here and marker.exists() and marker.read_bytes() == requirements.read_bytes()):
            shutil.rmtree(VENV, ignore_errors=True)
            subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
            subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "-r", str(requirements)], check=True)
            shutil.copyfile(requirements, marker)
    return VENV


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture(scope="session")
def releases():
    root = Path(tempfile.mkdtemp(prefix="msi-standin-"))
    yield {n: make_release(root / f"release{n}", n) for n in (1, 2)}
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(standin_venv, releases):
    """The server of the internal databases (and of "create new" databases).
    Its role `mathesar` is a superuser, as the bundled role is; a migrated
    template database makes each test's internal database cheap."""
    server = PostgresServer().init().start()
    server.make_role("mathesar", INTERNAL_PASSWORD, owns=TEMPLATE, superuser=True)
    env = app_env(server, TEMPLATE, password=INTERNAL_PASSWORD, SECRET_KEY="template-key",
                  SKIP_STATIC_COLLECTION="true")
    done = run_install(releases[2], env)
    assert done.returncode == 0, done.stderr
    yield server
    server.destroy()


@pytest.fixture
def internal(pg):
    """A fresh, migrated internal database: returns the app's environment for
    it (the SECRET_KEY is fixed, as mathesar-init fixes it for every release)."""
    def make(role="mathesar", password=INTERNAL_PASSWORD, **extra):
        name = unique("internal")
        pg.sql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}" OWNER "{role}"')
        return app_env(pg, name, role=role, password=password, SECRET_KEY="k-" + name, **extra)
    return make
