"""Shared pieces of the fault-injection suite: the size knob, the figures
written to out/summary-<scale>.json, the acknowledged-commit ledger, and a
PostgreSQL 15 started straight on a volume's cluster for pg_amcheck."""
import os
import random
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kit import PYTHON, Init, PostgresServer, free_port, namespace_pid, signal_pid_if, wait_until  # noqa: F401

HERE = Path(__file__).resolve().parent
FAULT_APPS = HERE / "apps"
WRITER = [PYTHON, str(FAULT_APPS / "writer.py")]


@dataclass(frozen=True)
class Scale:
    name: str
    kill_cycles: int          # kill-storm boots ended by SIGKILL of the namespace
    initdb_kills: int         # of which: first-boot initdb interrupted
    signals: int              # signal storm: forwarded signals sent ...
    storm_seconds: float      # ... within this many seconds
    junk_inputs: int          # generated hostile values on top of the fixed table
    races: int                # two containers on one fresh volume
    bundled_races: int        # of which: bundled first boot (initdb) races
    tmpfs_initdb_sizes: tuple  # tmpfs sizes (MiB) too small for a cluster
    postmaster_kills: int     # postmaster SIGKILLs while the app writes (under the crash-loop budget)


SCALES = {
    "ci": Scale("ci", kill_cycles=24, initdb_kills=3, signals=4000, storm_seconds=2, junk_inputs=50, races=14,
                bundled_races=3, tmpfs_initdb_sizes=(1, 24), postmaster_kills=2),
    "full": Scale("full", kill_cycles=120, initdb_kills=10, signals=10000, storm_seconds=5, junk_inputs=200, races=50,
                  bundled_races=10, tmpfs_initdb_sizes=(1, 4, 12, 20, 28, 36), postmaster_kills=4),
}
_scale_name = os.environ.get("FAULTS_SCALE", "ci")
if _scale_name not in SCALES:
    raise SystemExit(f"FAULTS_SCALE must be one of {', '.join(SCALES)}, not {_scale_name!r}")
SCALE = SCALES[_scale_name]
SEED = int(os.environ.get("FAULTS_SEED") or time.time_ns() % 1_000_000_007)

# area -> {figure: value}; written by conftest.py at the end of the session.
FIGURES = {}


def record(area, **values):
    FIGURES.setdefault(area, {}).update(values)


def add(area, **values):
    figures = FIGURES.setdefault(area, {})
    for key, value in values.items():
        figures[key] = figures.get(key, 0) + value


def rng(name):
    """A random source per test, reproducible with FAULTS_SEED."""
    return random.Random(f"{SEED}-{name}")


def acknowledged(ack_dir):
    """Every id some writer recorded as committed; a torn last line is not counted."""
    ids = []
    for path in Path(ack_dir).glob("ack-*.log"):
        text = path.read_text()
        lines = text.split("\n")
        complete = lines[:-1]  # the part after the last newline is torn (or empty)
        ids.extend(int(line) for line in complete if line)
    return ids


def bundled_env(volume, ack_dir, **extra):
    """Bundled mode on its own free port, the writer's ledger outside the volume."""
    return volume.env(POSTGRES_PORT=free_port(), ACK_DIR=ack_dir, **extra)


def host_pid(init, ns_pid):
    """The host pid of a process below PID 1 known by its pid inside the
    namespace (what status.json and the process itself report)."""
    for pid, _, _ in init.descendants():
        if namespace_pid(pid) == ns_pid:
            return pid
    raise LookupError(f"no process with pid {ns_pid} in the namespace")


def kill_in_namespace(init, ns_pid, signo):
    """Signals the process known as ns_pid inside PID 1's namespace, through a
    pidfd, after checking that the pidfd still names that process: a pid freed
    and reused meanwhile is never signalled (LookupError instead)."""
    pid = host_pid(init, ns_pid)
    try:
        signal_pid_if(pid, signo, lambda p: namespace_pid(p) == ns_pid and p in {d[0] for d in init.descendants()})
    except ProcessLookupError as gone:
        raise LookupError(f"the process with pid {ns_pid} in the namespace exited before the signal") from gone


def zombies(init):
    return [p for p in init.descendants() if p[1] == "Z"]


LEFTOVER = re.compile(r"(initdb-incomplete|\.mathesar-initdb|\.tmp(\.|$)|\.partial$|\.new$|\.incomplete$)")


def leftovers(root):
    """Temporary files and directories of ours left in a volume (PostgreSQL's own
    pgsql_tmp is its business, and is emptied by the server at start)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if LEFTOVER.search(name):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


def DirectServer(pgdata, bindir=None):
    """PostgreSQL (15 unless bindir says otherwise) started straight on a volume's
    cluster as the postgres OS user, without mathesar-init, on its socket only:
    for pg_amcheck and reading rows as superuser (`with DirectServer(volume.pgdata) as db:`)."""
    return PostgresServer(bindir=bindir, data=pgdata, tcp=False, start_timeout=60)


class Tmpfs:
    """A tmpfs of `mib` MiB mounted on `path` (created if missing)."""

    def __init__(self, path, mib, options=""):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0755{',' + options if options else ''}",
                        "tmpfs", str(self.path)], check=True)

    def resize(self, mib):
        subprocess.run(["mount", "-o", f"remount,size={mib}m", str(self.path)], check=True)

    def unmount(self):
        subprocess.run(["umount", "-l", str(self.path)], check=False)


def run_to_end(args, env, timeout=90, **kw):
    init = Init(args, env, **kw)
    return init.wait(timeout), init
