import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tests/: the kit

from kit.fixtures import external_env, pg_server, require_build, volume  # noqa: E402,F401


def pytest_sessionstart(session):
    require_build()
