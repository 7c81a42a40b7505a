"""Runs the real mathesar-init binary as PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc`), and starts real PostgreSQL servers.

Nothing here simulates a syscall: the tests observe the kernel's view
(/proc) of processes the binary started.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("MSI_BIN_DIR", REPO / ".build" / "release"))
INIT = BIN_DIR / "mathesar-init"
APPS = Path(__file__).resolve().parent / "apps"
PG_BIN = Path(os.environ.get("MSI_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PYTHON = sys.executable

# Variables of the caller that must not steer the binary under test.
SCRUB = re.compile(r"^(POSTGRES_|MATHESAR_|PG[A-Z]+$|SECRET_KEY)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if not SCRUB.match(k)}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def parent_pid(pid):
    """The parent of pid from /proc, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def signal_pid_if(pid, signo, still_ours):
    """Signals pid only if, with a pidfd held on it, still_ours(pid) is true: a
    process that exited and whose pid was reused is never signalled. Raises
    ProcessLookupError when it is gone or no longer the same process."""
    pidfd = os.pidfd_open(pid)
    try:
        if not still_ours(pid):
            raise ProcessLookupError(f"pid {pid} is no longer the process that was meant")
        signal.pidfd_send_signal(pidfd, signo)
    finally:
        os.close(pidfd)


class Init:
    """mathesar-init running as PID 1 of its own PID namespace."""

    def __init__(self, args, env, cwd=None, stdin=subprocess.DEVNULL, namespace=True, binary=None):
        binary = str(binary or INIT)
        self.command = (["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] if namespace else []) + [binary] + list(args)
        self.lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(self.command, env=env, cwd=cwd, stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.namespace = namespace
        self._readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                         for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for r in self._readers:
            r.start()
        self._pid1 = None
        self._pidfd = None        # PID 1 by pidfd: a signal can never reach a process that reused its pid
        self.sent_sigkill = False  # whether this harness SIGKILLed PID 1 (else a SIGKILL came from outside)

    def _read(self, stream, name):
        for raw in iter(stream.readline, b""):
            with self._lock:
                self.lines.append((name, raw.decode("utf-8", "replace").rstrip("\n")))

    @property
    def output(self):
        with self._lock:
            text = "\n".join(line for _, line in self.lines)
        if self.killed_from_outside:
            text += ("\nharness: PID 1 died of a SIGKILL that this test did not send: something outside the test "
                     "(another process on this machine, or the kernel's OOM killer) killed it")
        return text

    @property
    def killed_from_outside(self):
        """util-linux's unshare exits 1 with "sigprocmask unblock failed" exactly
        when its child, PID 1, died of SIGKILL (it cannot re-raise SIGKILL)."""
        if not self.namespace or self.proc.poll() != 1 or self.sent_sigkill:
            return False
        with self._lock:
            return any("unshare: sigprocmask unblock failed" in line for _, line in self.lines)

    def stream(self, which):
        with self._lock:
            return [line for name, line in self.lines if name == which]

    @property
    def pid1(self):
        """Host pid of the binary (the namespace's PID 1). For reading /proc
        only: signals go through `signal`, which uses a pidfd."""
        self._find_pid1()
        return self._pid1

    def _find_pid1(self):
        if self._pid1 is not None:
            return
        if not self.namespace:
            self._pid1, self._pidfd = self.proc.pid, os.pidfd_open(self.proc.pid)
            return
        deadline = time.monotonic() + 10
        while self._pid1 is None:
            try:
                children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            except FileNotFoundError:
                children = []
            if children:
                pid = int(children[0])
                try:
                    pidfd = os.pidfd_open(pid)
                except ProcessLookupError:
                    pidfd = None
                # Still unshare's child once the pidfd is open: the pidfd names PID 1,
                # not a process that took its pid after it was reaped.
                if pidfd is not None and parent_pid(pid) == self.proc.pid:
                    self._pid1, self._pidfd = pid, pidfd
                    return
                if pidfd is not None:
                    os.close(pidfd)
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("PID 1 did not appear\n" + self.output)
            time.sleep(0.005)

    def signal(self, signo):
        """Sends signo to PID 1 (by pidfd). ProcessLookupError once it has exited."""
        self._find_pid1()
        if signo == signal.SIGKILL:
            self.sent_sigkill = True
        signal.pidfd_send_signal(self._pidfd, signo)

    def wait(self, timeout=30):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"mathesar-init did not exit within {timeout} s\n{self.output}")
        for r in self._readers:
            r.join(5)
        return code

    def wait_for(self, pattern, timeout=30):
        """Waits until a line matches; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for _, line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
            if self.proc.poll() is not None:
                time.sleep(0.05)
                with self._lock:
                    for _, line in self.lines:
                        m = rx.search(line)
                        if m:
                            return m
                raise AssertionError(f"exited ({self.proc.returncode}) before /{pattern}/:\n{self.output}")
            time.sleep(0.01)
        raise AssertionError(f"no line matched /{pattern}/ within {timeout} s:\n{self.output}")

    def kill(self):
        """SIGKILL the whole PID namespace (PID 1 dies, the kernel kills the rest).
        Nothing is sent once unshare has exited: PID 1 is gone, and its pid may
        belong to another process by now."""
        if self.proc.poll() is None:
            try:
                self.signal(signal.SIGKILL)
            except (ProcessLookupError, RuntimeError):
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def descendants(self):
        """(pid, state, comm) of every process below PID 1, from the host's /proc."""
        root = self.pid1
        parents = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry.name)] = (int(fields[1]), fields[0], comm)
        found, frontier = [], [root]
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, state, comm) in parents.items():
                if ppid == parent:
                    found.append((pid, state, comm))
                    frontier.append(pid)
        return found

    def proc_status(self, field):
        for line in Path(f"/proc/{self.pid1}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.kill()


class Volume:
    """A data directory and run directory for one test."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.run = root / "run"
        self.pgdata = self.data / "postgres"

    def env(self, **extra):
        return base_env(**{"MATHESAR_DATA_DIR": self.data, "MATHESAR_RUN_DIR": self.run, **extra})

    def status(self):
        try:
            return json.loads((self.run / "status.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def controldata_state(self):
        out = subprocess.run([PG_BIN / "pg_controldata", str(self.pgdata)], capture_output=True, text=True,
                             env=base_env(LC_ALL="C")).stdout
        m = re.search(r"Database cluster state:\s+(.*)", out)
        return m.group(1).strip() if m else None

    def snapshot(self):
        """Every path below the root with its size and mtime, to prove nothing changed."""
        result = {}
        for path in sorted(self.root.rglob("*")):
            st = path.lstat()
            result[str(path.relative_to(self.root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
        return result


def as_postgres(cmd, **kw):
    return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *map(str, cmd)], **kw)


class PostgresServer:
    """A real PostgreSQL server for tests (external-mode database)."""

    SUPERUSER_PASSWORD = "test-superuser-pw"

    def __init__(self, bindir=PG_BIN, port=None):
        self.bindir = Path(bindir)
        self.root = Path(tempfile.mkdtemp(prefix="msi-pg-"))
        os.chmod(self.root, 0o755)
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.socket_dir.mkdir()
        pg = pwd.getpwnam("postgres")
        os.chown(self.root, pg.pw_uid, pg.pw_gid)
        os.chown(self.socket_dir, pg.pw_uid, pg.pw_gid)
        self.port = port or free_port()
        self.proc = None

    def init(self):
        pwfile = self.root / "pw"
        pwfile.write_text(self.SUPERUSER_PASSWORD)
        pg = pwd.getpwnam("postgres")
        os.chown(pwfile, pg.pw_uid, pg.pw_gid)
        as_postgres([self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                     "--auth-host=scram-sha-256", "--pwfile", pwfile, "-N", "-E", "UTF8", "--locale=C.UTF-8"],
                    check=True, capture_output=True)
        pwfile.unlink()
        return self

    def start(self):
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", str(self.bindir / "postgres"),
             "-D", str(self.data), "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
             "-c", f"unix_socket_directories={self.socket_dir}", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while subprocess.run([self.bindir / "pg_isready", "-h", str(self.socket_dir), "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("test PostgreSQL did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
        self.proc = None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def sql(self, statement, database="postgres", check=True):
        r = subprocess.run(["psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", database,
                            "-v", "ON_ERROR_STOP=1", "-tAc", statement], capture_output=True, text=True,
                           env=base_env())
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout.strip()

    def make_role(self, name, password, owns=None, superuser=False):
        self.sql(f"DROP DATABASE IF EXISTS \"{owns}\"") if owns else None
        self.sql(f"DROP ROLE IF EXISTS \"{name}\"")
        self.sql(f"CREATE ROLE \"{name}\" LOGIN {'SUPERUSER' if superuser else ''} PASSWORD '{password}'")
        if owns:
            self.sql(f"CREATE DATABASE \"{owns}\" OWNER \"{name}\"")

    def external_env(self, volume, user, password, database, **extra):
        return volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=self.port, POSTGRES_USER=user,
                          POSTGRES_PASSWORD=password, POSTGRES_DB=database, **extra)
