"""The one test kit of this repository, shared by Tests/EndToEnd, Tests/Faults,
Tests/Standin and bench/: real processes, nothing simulated.

- paths:    the binaries under test, the repository, the Python that runs tests
- env:      the one environment scrubber (no caller variable steers a subject)
- ports:    the one free-port picker
- procfs:   what the kernel says about a process (/proc)
- pid1:     the one PID-1 launcher (`unshare --pid --fork --mount-proc`, pidfd signals)
- postgres: the one way of choosing PostgreSQL binaries, and the one throwaway server
- volume:   a data and run directory of one boot
- wait:     waiting for an observable event
- fixtures: the pytest fixtures the suites share

A suite's conftest.py puts Tests/ on sys.path, then imports from here.
"""
from kit.env import SCRUB, clean_env
from kit.paths import BIN_DIR, HELPER, INIT, PYTHON, REPO
from kit.pid1 import Init, Pid1, signal_pid_if
from kit.ports import free_port
from kit.postgres import AS_POSTGRES, PG_BIN, PostgresServer, as_postgres, controldata_state, pg_bindir
from kit.procfs import descendants, namespace_pid, parent_pid
from kit.volume import Volume
from kit.wait import wait_until

__all__ = ["AS_POSTGRES", "BIN_DIR", "HELPER", "INIT", "PG_BIN", "PYTHON", "REPO", "SCRUB", "Init", "Pid1",
           "PostgresServer", "Volume", "as_postgres", "clean_env", "controldata_state", "descendants", "free_port",
           "namespace_pid", "parent_pid", "pg_bindir", "signal_pid_if", "wait_until"]
