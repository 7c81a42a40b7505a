"""Figure 6, signal forwarding: SIGTERM to PID 1 -> a trapping child ran its
handler (the child stamps CLOCK_MONOTONIC in its handler)."""
import signal
import time

from common import BENCHKIT, read_num
from kit import wait_until

KEY, KIND, NAME = "6_signal", "signal", "signal forwarding"
TARGET = "6 signal forwarding <= 0.5 ms"


def title(results):
    return "## 6. Signal forwarding (SIGTERM to PID 1 -> trapping child's handler ran)"


def limit(figure):
    return 0.5e6


def child(ctx, name, d, zombies):
    return [BENCHKIT, "trap", d / "ready", d / "handled"]


def sample(run, timeout):
    if not run.until(run.d / "ready", timeout):
        raise RuntimeError(f"child never became ready: {run.inst.tail()}")
    time.sleep(0.05)  # let PID 1 settle into its wait
    run.inst.pid1  # found (and its pidfd opened) before the clock starts
    t0 = time.monotonic_ns()
    run.inst.signal(signal.SIGTERM)
    v = wait_until(lambda: read_num(run.d / "handled"), timeout, interval=0.001)
    if v is None:
        raise RuntimeError("SIGTERM not forwarded to the child")
    run.inst.exited_within(timeout)
    return v - t0

