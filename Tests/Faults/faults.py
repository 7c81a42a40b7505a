"""Shared pieces of the fault-injection suite: the size knob, the figures
written to out/summary-<scale>.json, the acknowledged-commit ledger, and a
PostgreSQL 15 started straight on a volume's cluster for pg_amcheck."""
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import APPS, PG_BIN, PYTHON, Init, as_postgres, base_env, free_port, signal_pid_if

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


def wait_until(predicate, timeout=30, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


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


def namespace_pid(pid):
    """The pid of host process pid inside its own PID namespace, or None when it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


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


class DirectServer:
    """PostgreSQL 15 started straight on a volume's cluster as the postgres OS
    user, without mathesar-init: for pg_amcheck and reading rows as superuser."""

    def __init__(self, pgdata, bindir=PG_BIN):
        self.pgdata = Path(pgdata)
        self.bindir = Path(bindir)
        self.socket_dir = Path(tempfile.mkdtemp(prefix="msi-faults-sock-"))
        shutil.chown(self.socket_dir, "postgres", "postgres")
        self.port = free_port()
        self.log = self.socket_dir / "log"

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", str(self.bindir / "postgres"),
             "-D", str(self.pgdata), "-c", "listen_addresses=", "-c", f"port={self.port}",
             "-c", f"unix_socket_directories={self.socket_dir}"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        ok = wait_until(lambda: self.proc.poll() is not None or subprocess.run(
            [self.bindir / "pg_isready", "-h", str(self.socket_dir), "-p", str(self.port)], capture_output=True).returncode == 0,
            timeout=60, interval=0.05)
        if not ok or self.proc.poll() is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            raise RuntimeError("PostgreSQL did not start on the volume:\n" + self.log.read_text())
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def psql(self, sql, database):
        r = as_postgres([self.bindir / "psql", "-h", self.socket_dir, "-p", self.port, "-U", "postgres", "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, env=base_env())
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout

    def amcheck(self):
        """pg_amcheck over every database: heap, and btree with heapallindexed and rootdescend."""
        r = as_postgres([self.bindir / "pg_amcheck", "-h", self.socket_dir, "-p", self.port, "-U", "postgres",
                         "--all", "--install-missing", "--heapallindexed", "--rootdescend"],
                        capture_output=True, text=True, env=base_env())
        return r.returncode, r.stdout + r.stderr

    def databases(self):
        return self.psql("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1", "postgres").split()


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
