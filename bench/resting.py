"""Every subject of figures 4 and 5 booted at once, left at rest: the peers
with a C child that stamps its start and pauses, the database flows on fresh
volumes with that child as their app."""
import shutil
import time

from common import BENCHKIT, PEERS, Subject, init_prefix, read_marks, stop_instance, subject_env
from flows import PG_USER, new_marks, new_volume, pg_ping, start_flow, stop_clean


def boot_all(ctx, timeout):
    """{name: {"inst", "ready", "vol"?} or {"error"}}, every one booted (or its error)."""
    subs = {}
    for name in [p for p in PEERS if ctx.available.get(p)] + ["ours", "postgres-image", "mathesar-image"]:
        if name == "ours" and not ctx.ours_ok():
            continue
        try:
            if name in PEERS:
                d = ctx.fresh_dir(f"idle-{name}")
                child = [BENCHKIT, "stamp", d / "stamp", "pause"]
                inst = Subject(init_prefix(name, ctx, d, child), subject_env(name, ctx, d), d / "log")
                subs[name] = {"inst": inst, "ready": lambda d=d: (d / "stamp").exists()}
            else:
                vol = new_volume(ctx, name)
                marks = new_marks(vol, "marks")
                inst = start_flow(ctx, name, vol, marks, "stamp")
                user, db = PG_USER[name]
                if name == "postgres-image":
                    ready = (lambda vol=vol, marks=marks, u=user, b=db:
                             "final_exec" in read_marks(marks) and pg_ping(vol["port"], u, b))
                else:
                    ready = lambda vol=vol: (vol["dir"] / "app-stamp").exists()
                subs[name] = {"inst": inst, "ready": ready, "vol": vol}
        except Exception as e:  # noqa: BLE001
            subs[name] = {"error": str(e)}
    deadline = time.monotonic() + timeout
    for name, s in subs.items():
        if "inst" not in s:
            continue
        while time.monotonic() < deadline and s["inst"].alive() and not s["ready"]():
            time.sleep(0.01)
        if not s["ready"]():
            s["error"] = f"not booted: {s['inst'].tail()}"
    time.sleep(2)  # settle: first checkpoints, the app's own start
    return subs


def measured(subs):
    """The booted subjects: {name: host pid of PID 1}."""
    pids = {}
    for name, s in subs.items():
        if "error" not in s:
            pids[name] = s["inst"].pid1
            if pids[name] is None:
                s["error"] = f"PID 1 not found: {s['inst'].tail()}"
                del pids[name]
    return pids


def errors(subs):
    return {n: s["error"] for n, s in subs.items() if "error" in s}


def stop_all(ctx, subs):
    for name, s in subs.items():
        if "inst" in s:
            if "vol" in s:
                stop_clean(ctx, name, s["inst"], s["vol"])
                shutil.rmtree(s["vol"]["dir"], ignore_errors=True)
            else:
                stop_instance(s["inst"], 5)
