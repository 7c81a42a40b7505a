"""Figure 7, reaping: N zombies handed to PID 1 at once -> none left. The
floor (`direct`): the same hand-over to a PID 1 that does nothing but
waitpid(-1); `own-children`: a parent reaping its own N children."""
from common import BENCHKIT
from stats import med

KEY, KIND, NAME = "7_reap", "reap", "reaping"
TARGET = "7 reaping <= 1.1x floor (direct)"


def title(results):
    return (f"## 7. Reaping {results['meta']['config']['zombies']} zombies handed to PID 1 at once\n\n"
            "From the exit of the process that orphans them to none left. `direct` = the floor: the "
            "same hand-over to a PID 1 that does nothing but `waitpid(-1)`; `own-children` = a parent "
            "reaping its own zombie children, no hand-over (the kernel's re-parenting is not in it).")


def limit(figure):
    floor = med(figure["samples"].get("direct", []))
    return None if floor is None else floor * 1.1


def child(ctx, name, d, zombies):
    mode = {"direct": "floor", "own-children": "own"}.get(name, "zombies")
    return [BENCHKIT, mode, zombies, d / "reaped"]


def sample(run, timeout):
    v = run.until(run.d / "reaped", timeout)
    if v is None:
        raise RuntimeError(f"zombies not reaped in {timeout} s: {run.inst.tail()}")
    return v
