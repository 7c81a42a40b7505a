"""Figure 3, stop: the stop signal to a warm-booted, idle PID 1 -> PID 1
exited, and whether the cluster was shut down cleanly. Sampled right after
each warm boot of figure 2 (fig2_warm_boot.py runs both)."""
import signal
import time

from flows import repair_volume, stop_clean
from kit import controldata_state
from stats import cell, med, pair_ratios, ratio_cell, summary, target_line

KEY = "3_stop"


def sample(ctx, flow, inst, vol, taken):
    """Stops the booted flow as Docker would and returns the sample; None when
    not sampled (`mathesar-image`, whose every stop waits the whole grace
    period, after --docker-stop-samples of them). taken: this flow's samples so far."""
    time.sleep(0.2)  # the stack is idle
    if flow == "mathesar-image" and taken >= ctx.args.docker_stop_samples:
        stop_clean(ctx, flow, inst, vol)
        return None
    sig = signal.SIGTERM if flow == "ours" else signal.SIGINT  # the images' STOPSIGNAL
    grace = ctx.args.docker_stop_timeout
    t0 = time.monotonic_ns()
    inst.signal(sig)
    exited = inst.exited_within(grace)
    t1 = time.monotonic_ns()
    killed = False
    if not exited:
        killed = True
        inst.kill()
        t1 = time.monotonic_ns()
    else:
        inst.close()
    state = controldata_state(vol["pgdata"], ctx.pgbin) or "unknown"
    if state != "shut down":
        repair_volume(ctx, flow, vol)
    return {"ok": not killed, "ms": (t1 - t0) / 1e6, "signal": signal.Signals(sig).name,
            "sigkill_after_s": grace if killed else None, "cluster_state": state}


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 3."""
    st = results["figures"].get(KEY)
    if not st:
        return [], []
    L = ["## 3. Stop (stop signal to PID 1 -> PID 1 exited)", "",
         "The postgres images' STOPSIGNAL is SIGINT; ours gets SIGTERM. A subject still running after the "
         f"Docker grace period ({results['meta']['config']['docker_stop_timeout']} s here) is SIGKILLed, "
         "as Docker does.", "",
         "| flow | median | min | max | n | cluster state after | SIGKILLed | ours/this |",
         "|---|---:|---:|---:|---:|---|---:|---|"]
    ours = [s["ms"] if s and s.get("ok") else None for s in st["samples"].get("ours", [])]
    for flow, ss in st["samples"].items():
        done = [s for s in ss if s and "ms" in s]
        xs = [s["ms"] if s and "ms" in s else None for s in ss]
        states = sorted({s["cluster_state"] for s in done})
        killed = sum(1 for s in done if s.get("sigkill_after_s"))
        s_ = summary(xs)
        a, b, c, n = cell(s_, "ms")
        r = "—" if flow == "ours" else (ratio_cell(pair_ratios(ours, xs)) if "ours" in st["samples"]
                                       else "ours n/a")
        L.append(f"| {flow} | {a} | {b} | {c} | {n} | {', '.join(states)} | {killed} | {r} |")
    L.append("")
    bare = med([s["ms"] for s in st["samples"].get("bare-postgres", []) if s and s.get("ok")])
    targets = [target_line("3 stop <= app exit (~0: the C child dies on SIGTERM) + PG fast shutdown "
                           "(bare postgres) + 10 ms", med(ours), None if bare is None else bare + 10, "ms")]
    return L, targets
