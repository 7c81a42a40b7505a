"""Figures 6, 7 and 8 measure the init alone, with a tiny C child
(helpers/benchkit.c): rounds of one sample per subject, in a new random order
each round. Each figure's file (fig6_signal.py, fig7_reap.py, fig8_start.py)
says what its child is and what one sample measures."""
import random
import shutil
import time

from common import PEERS, Subject, init_prefix, log, read_num, stop_instance, subject_env
from kit import wait_until
from stats import fmt_ms, med, target_line, timing_table, vals


def subjects(ctx, figure):
    names = ["direct"] + (["own-children"] if figure.KIND == "reap" else []) + [
        p for p in PEERS if ctx.available.get(p)]
    if ctx.ours_ok() and ctx.extdb:
        names.append("ours")
    return names


class Run:
    """One subject booted with the figure's child in its own directory `d`."""

    def __init__(self, ctx, name, d, child):
        self.d = d
        self.inst = Subject(init_prefix(name, ctx, d, child), subject_env(name, ctx, d), d / "log")

    def until(self, path, timeout):
        """Wait for a number in path; stop early when PID 1 died without it."""
        inst = self.inst
        v = wait_until(lambda: read_num(path) or (not inst.alive() and "dead"), timeout, interval=0.0002)
        if v == "dead":
            v = read_num(path)
            if v is None:
                raise RuntimeError(f"PID 1 exited with {inst.proc.returncode}: {inst.tail()}")
        return v


def sample(ctx, figure, name, timeout, zombies=None):
    """One sample of `figure` under init `name`, in ns."""
    d = ctx.fresh_dir(f"{figure.KIND}-{name}")
    run = Run(ctx, name, d, figure.child(ctx, name, d, zombies or ctx.args.zombies))
    try:
        return figure.sample(run, timeout)
    finally:
        stop_instance(run.inst, 5)
        shutil.rmtree(d, ignore_errors=True)


def measure(ctx, figure, rounds, budget_s=30):
    """Rounds of one sample per subject. A subject whose samples took more
    than budget_s in all (supervisord reaps 100 zombies a second) gets no more
    samples after that (at least one)."""
    names = subjects(ctx, figure)
    samples = {n: [] for n in names}
    spent = {n: 0.0 for n in names}
    errors = {}
    # one unmeasured warm-up each: page cache, supervisord's imports; a subject
    # that fails here is not tried again in this figure
    for n in names:
        try:
            sample(ctx, figure, n, 30, zombies=50)
        except Exception as e:  # noqa: BLE001
            errors[n] = str(e)
    for _ in range(rounds):
        order = names[:]
        random.shuffle(order)
        for n in order:
            if n in errors or (spent[n] > budget_s and vals(samples[n])):
                samples[n].append(None)
                continue
            t = time.monotonic()
            try:
                samples[n].append(sample(ctx, figure, n, 60))
            except Exception as e:  # noqa: BLE001
                errors[n] = str(e)
                samples[n].append(None)
            spent[n] += time.monotonic() - t
    if ctx.ours_ok() and not ctx.extdb:
        errors["ours"] = ctx.extdb_error or "no external database"
    log(f"{figure.NAME}: " + ", ".join(f"{n}={fmt_ms(med(v))}" for n, v in samples.items()))
    return {"unit": "ns", "samples": samples, "errors": errors}


def section(results, ours_fail, figure):
    """(RESULTS.md lines, target lines) of a small figure."""
    f = results["figures"].get(figure.KEY)
    if not f:
        return [], []
    L = [figure.title(results), "",
         timing_table(f["samples"], "ns", failed=None if "ours" in f["errors"] else ours_fail), ""]
    for n, e in f["errors"].items():
        L.append(f"- {n}: failed: {e[:200]}")
    if f["errors"]:
        L.append("")
    return L, [target_line(figure.TARGET, med(f["samples"].get("ours", [])), figure.limit(f), "ns")]
