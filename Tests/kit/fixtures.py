"""The pytest fixtures the suites share. A suite's conftest.py imports them
(`from kit.fixtures import volume, ...`), which registers them there, and
calls require_build() from its pytest_sessionstart."""
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kit.paths import HELPER, INIT
from kit.postgres import PostgresServer
from kit.volume import Volume

_counter = itertools.count()


def require_build():
    missing = [p for p in (INIT, HELPER) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"build first (swift build -c release): missing {', '.join(map(str, missing))}")


@pytest.fixture
def volume():
    root = Path(tempfile.mkdtemp(prefix=f"msi-vol-{next(_counter)}-"))
    os.chmod(root, 0o755)
    yield Volume(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer().init().start()
    server.make_role("owner_role", "owner-pw", owns="owner_db")
    yield server
    server.destroy()


@pytest.fixture
def external_env(pg_server, volume):
    """Environment for external mode against the shared test server (fast boots)."""
    def make(**extra):
        return pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db", **extra)
    return make
