"""The test kit (Tests/kit) under the name the tests have always imported:
`from harness import Init, Volume, ...`. Nothing is defined here but APPS,
the end-to-end suite's own test apps."""
from pathlib import Path

from kit import (AS_POSTGRES, BIN_DIR, HELPER, INIT, PG_BIN, PYTHON, REPO, SCRUB, Init, Pid1,  # noqa: F401
                 PostgresServer, Volume, as_postgres, controldata_state, descendants, free_port, namespace_pid,
                 parent_pid, pg_bindir, signal_pid_if, wait_until)
from kit import clean_env as base_env  # noqa: F401

APPS = Path(__file__).resolve().parent / "apps"
