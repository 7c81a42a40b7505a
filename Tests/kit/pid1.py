"""The one PID-1 launcher: a command as PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc --kill-child`), its output read line by
line, signals sent through a pidfd.

A pidfd names one process for as long as it is held: a signal can never reach
a process that took PID 1's host pid after PID 1 was reaped (pid_max is small
here, and pids are reused within a test run)."""
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from kit import procfs
from kit.paths import INIT

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]


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


class Pid1:
    """`argv` running as PID 1 of its own PID namespace (as itself when
    namespace is false).

    Output: with capture (the default), stdout and stderr are read line by
    line into `lines` as (stream, text), with each line's arrival time
    (time.time_ns()) at the same index of `times`, and copied into `log` when
    one is given; without capture both go straight into `log`, and no thread
    of this process reads them (the benchmarks' small figures)."""

    def __init__(self, argv, env, cwd=None, stdin=subprocess.DEVNULL, namespace=True, log=None, capture=True,
                 start_new_session=False):
        if not capture and log is None:
            raise ValueError("without capture the output needs a log file")
        self.command = (UNSHARE if namespace else []) + [str(a) for a in argv]
        self.namespace = namespace
        self.log = Path(log) if log is not None else None
        self.lines = []
        self.times = []
        self._lock = threading.Lock()
        self._logf = open(log, "ab") if log is not None else None
        out = subprocess.PIPE if capture else self._logf
        self.t0_wall = time.time_ns()   # the spawn, on both clocks: a child's CLOCK_MONOTONIC stamp
        self.t0_mono = time.monotonic_ns()  # converts to wall time with this pair
        self.proc = subprocess.Popen(self.command, env=env, cwd=cwd, stdin=stdin, stdout=out,
                                     stderr=subprocess.PIPE if capture else subprocess.STDOUT,
                                     start_new_session=start_new_session)
        self._readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                         for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))] if capture else []
        for r in self._readers:
            r.start()
        self._pid1 = None
        self._pidfd = None        # PID 1 by pidfd: a signal can never reach a process that reused its pid
        self.sent_sigkill = False  # whether this launcher SIGKILLed PID 1 (else a SIGKILL came from outside)

    def _read(self, stream, name):
        for raw in iter(stream.readline, b""):
            arrived = time.time_ns()
            with self._lock:
                self.lines.append((name, raw.decode("utf-8", "replace").rstrip("\n")))
                self.times.append(arrived)
                if self._logf is not None:
                    self._logf.write(raw)
                    self._logf.flush()

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

    def tail(self, n=6):
        """The last n non-empty lines of the output (captured, or the log file's), joined by " | "."""
        if self.log is not None and not self._readers:
            try:
                lines = [line.rstrip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
            except FileNotFoundError:
                lines = []
        else:
            with self._lock:
                lines = [line for _, line in self.lines if line.strip()]
        return " | ".join(lines[-n:])

    def alive(self):
        return self.proc.poll() is None

    @property
    def pid1(self):
        """Host pid of the namespace's PID 1. For reading /proc only: signals
        go through `signal`, which uses a pidfd."""
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
            kids = procfs.children(self.proc.pid)
            if kids:
                pid = kids[0]
                try:
                    pidfd = os.pidfd_open(pid)
                except ProcessLookupError:
                    pidfd = None
                # Still unshare's child once the pidfd is open: the pidfd names PID 1,
                # not a process that took its pid after it was reaped.
                if pidfd is not None and procfs.parent_pid(pid) == self.proc.pid:
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

    def exited_within(self, timeout):
        """Whether PID 1's namespace (unshare) exited within timeout s."""
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def wait(self, timeout=30):
        """The exit status; a failed test (with the output) after timeout s."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{Path(self.command[len(UNSHARE) if self.namespace else 0]).name} did not exit "
                                 f"within {timeout} s\n{self.output}")
        for r in self._readers:
            r.join(5)
        return code

    def wait_for(self, pattern, timeout=30):
        """Waits until a line matches; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._search(rx)
            if m:
                return m
            if self.proc.poll() is not None:
                time.sleep(0.05)  # the readers' last lines
                m = self._search(rx)
                if m:
                    return m
                raise AssertionError(f"exited ({self.proc.returncode}) before /{pattern}/:\n{self.output}")
            time.sleep(0.01)
        raise AssertionError(f"no line matched /{pattern}/ within {timeout} s:\n{self.output}")

    def _search(self, rx):
        with self._lock:
            for _, line in self.lines:
                m = rx.search(line)
                if m:
                    return m
        return None

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
            self.proc.kill()  # unshare itself: --kill-child takes PID 1 with it
            self.proc.wait(10)
        self.close()

    def close(self):
        """Releases the pidfd and the log file (after the exit); a log being
        copied is first read to its end."""
        if self._logf is not None:
            for r in self._readers:
                r.join(2)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        with self._lock:
            if self._logf is not None:
                self._logf.close()
                self._logf = None

    def descendants(self):
        """(pid, state, comm) of every process below PID 1, from the host's /proc."""
        return [(pid, state, comm) for pid, _, state, comm in procfs.descendants(self.pid1)]

    def proc_status(self, field):
        return procfs.status(self.pid1).get(field)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.kill()
        else:
            self.close()


class Init(Pid1):
    """mathesar-init (or `binary`) with `args` as PID 1 of its own PID namespace."""

    def __init__(self, args, env, cwd=None, stdin=subprocess.DEVNULL, namespace=True, binary=None, **kw):
        super().__init__([binary or INIT, *args], env, cwd=cwd, stdin=stdin, namespace=namespace, **kw)
