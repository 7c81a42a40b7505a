"""Figure 2, warm boot: a volume figure 1 made -> ready (DB accepting
connections and, with an app, the app started). Each warm boot is then
stopped for figure 3 (fig3_stop.py)."""
import fig3_stop
from common import log
from flows import FLOWS_WARM, boot, stop_clean
from stats import med, target_line, timing_table

KEY = "2_warm_boot"


def measure(ctx, keep, rounds, timeout):
    """Returns (figure 2, figure 3)."""
    flows = []
    for f in FLOWS_WARM:
        src = "postgres-image" if f == "bare-postgres" else f
        if src in keep:
            flows.append(f)
    warm = {f: [] for f in flows}
    stop = {f: [] for f in flows}
    errors = {}
    if ctx.ours_ok() and "ours" not in keep:
        errors["ours"] = "no volume: its first boot failed"
    for i in range(rounds):
        order = flows[i % len(flows):] + flows[:i % len(flows)] if flows else []
        for flow in order:
            if flow in errors and not any(r["ok"] for r in warm[flow]):
                warm[flow].append({"ok": False, "error": "skipped: failed before"})
                stop[flow].append(None)
                continue
            vol = keep["postgres-image" if flow == "bare-postgres" else flow]
            inst, res = boot(ctx, flow, vol, "stamp", False, timeout)
            warm[flow].append(res)
            if not res["ok"]:
                errors.setdefault(flow, res["error"])
                log(f"warm boot {flow}: failed: {res['error'][:200]}")
                stop[flow].append({"ok": False, "error": "boot failed"})
                stop_clean(ctx, flow, inst, vol)
                continue
            taken = sum(1 for s in stop[flow] if s and "ms" in s)
            stop[flow].append(fig3_stop.sample(ctx, flow, inst, vol, taken))
        log(f"warm boot round {i + 1}/{rounds}: " + ", ".join(
            f"{f}={warm[f][-1].get('ready', float('nan')):.0f} ms" for f in order if warm[f]))
    return {"unit": "ms", "samples": warm, "errors": errors}, {"unit": "ms", "samples": stop, "errors": errors}


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 2."""
    wb = results["figures"].get(KEY)
    if not wb:
        return [], []
    sub = {f: [r.get("ready") if r.get("ok") else None for r in runs] for f, runs in wb["samples"].items()}
    L = ["## 2. Warm boot (existing volume -> ready)", "",
         "Ready = DB accepting connections on 127.0.0.1, and for flows with an app (here a C child that "
         "stamps its start) the app started.", "",
         timing_table(sub, "ms", failed=wb["errors"].get("ours") or ours_fail, label="flow"), ""]
    bare = med(sub.get("bare-postgres", []))
    targets = [target_line("2 warm boot <= bare postgres + 10 ms", med(sub.get("ours", [])),
                           None if bare is None else bare + 10, "ms")]
    return L, targets
