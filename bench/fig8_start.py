"""Figure 8, start -> child running: from the spawn of unshare to the child's
first instruction (it stamps CLOCK_MONOTONIC); `direct` = the child as PID 1,
no init."""
from common import BENCHKIT

KEY, KIND, NAME = "8_start", "start", "start -> child"
TARGET = "8 start -> child running <= 5 ms"


def title(results):
    return "## 8. Start -> child running (includes unshare; direct = the child as PID 1, no init)"


def limit(figure):
    return 5e6


def child(ctx, name, d, zombies):
    return [BENCHKIT, "stamp", d / "stamp"]


def sample(run, timeout):
    v = run.until(run.d / "stamp", timeout)
    if v is None:
        raise RuntimeError(f"child never ran: {run.inst.tail()}")
    return v - run.inst.t0_mono
