"""Figure 1, first boot: an empty volume -> DB accepting connections -> app
started -> HTTP 200, for the postgres image's flow, Mathesar's current image's
flow and ours; and the boot-timeline chart of the median runs."""
import re
import shutil
import statistics

from common import log
from flows import FLOWS_FIRST, boot, new_volume, stop_clean
from stats import fmt_ms, med, pair_ratios, ratio_cell, summary, target_line, vals

KEY = "1_first_boot"


def measure(ctx, rounds, timeout):
    """Returns (figure, keep): keep is one booted volume per flow for figures 2 and 3."""
    flows = [f for f in FLOWS_FIRST if f != "ours" or ctx.ours_ok()]
    samples = {f: [] for f in flows}
    errors = {}
    keep = {}
    for i in range(rounds):
        order = flows[i % len(flows):] + flows[:i % len(flows)]  # rotate the order
        for flow in order:
            if flow in errors and not any(r["ok"] for r in samples[flow]):
                samples[flow].append({"ok": False, "error": "skipped: failed before"})
                continue
            vol = new_volume(ctx, flow)
            inst, res = boot(ctx, flow, vol, "demo", True, timeout)
            stop_clean(ctx, flow, inst, vol)
            samples[flow].append(res)
            if not res["ok"]:
                errors.setdefault(flow, res["error"])
            log(f"first boot {i + 1}/{rounds} {flow}: "
                + (f"ready {res['ready']:.0f} ms" if res["ok"] else f"failed: {res['error'][:200]}"))
            if res["ok"]:
                if flow in keep:
                    shutil.rmtree(keep[flow]["dir"], ignore_errors=True)
                keep[flow] = vol
            else:
                shutil.rmtree(vol["dir"], ignore_errors=True)
    return {"unit": "ms", "samples": samples, "errors": errors}, keep


def phase_segments(flow, res):
    """Boot timeline of one run as [(label, start_ms, end_ms)]."""
    m = res.get("marks", {})
    segs = []

    def seg(label, a, b):
        if a in m and b in m and m[b] >= m[a]:
            segs.append((label, m[a], m[b]))

    m.setdefault("spawn", 0.0)
    if flow in ("postgres-image", "mathesar-image"):
        seg("entrypoint setup", "spawn", "initdb_begin")
        seg("initdb", "initdb_begin", "initdb_end")
        seg("configuration", "initdb_end", "conf_end")
        seg("temp server start", "conf_end", "temp_started")
        seg("provisioning (psql)", "temp_started", "provisioned")
        seg("temp server stop", "provisioned", "temp_stopped")
        if flow == "postgres-image":
            seg("final start -> DB ready", "temp_stopped", "db_ready")
        else:
            seg("final start (no wait)", "temp_stopped", "final_started")
            seg("app start", "final_started", "app_start")
            if "db_ready" in m and m["db_ready"] > m.get("app_start", 1e18):
                seg("app waits for DB", "app_start", "db_ready")
                seg("app -> HTTP 200", "db_ready", "http_200")
            else:
                seg("app -> HTTP 200", "app_start", "http_200")
    else:
        prev = 0.0
        for p in res.get("log_phases", []):
            if p["end_ms"] < prev:
                continue
            start = prev
            for sp in p.get("subphases", []):  # laid out from the phase's start
                end = min(start + sp["duration_ms"], p["end_ms"])
                segs.append((f"ours: {sp['label']}", start, end))
                start = end
            segs.append((f"ours: {p['label']}" + (" (rest)" if p.get("subphases") else ""), start, p["end_ms"]))
            prev = p["end_ms"]
        if "app_start" in m and m["app_start"] >= prev:
            segs.append(("app start", prev, m["app_start"]))
            prev = m["app_start"]
        if "http_200" in m and m["http_200"] >= prev:
            segs.append(("app -> HTTP 200", prev, m["http_200"]))
    return segs


def median_run(runs):
    ok = [r for r in runs if r.get("ok")]
    if not ok:
        return None
    ok.sort(key=lambda r: r["marks"].get("http_200", r["ready"]))
    return ok[len(ok) // 2]


def write_chart(results, path):
    """The boot timeline of each flow's median run (figure 1), and of the
    stand-in app's flows (figure 9) below it; None, or why there is no chart."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install -r bench/requirements.txt): chart skipped"
    import fig9_standin
    panels = []
    fb = results["figures"].get(KEY)
    if fb:
        rows = []
        for flow in ["ours", "mathesar-image", "postgres-image"]:
            runs = fb["samples"].get(flow)
            r = median_run(runs) if runs else None
            if r:
                rows.append((f"{flow}\n(median run)", phase_segments(flow, r), r["marks"]))
        if rows:
            panels.append(("First boot, empty volume, demo app: boot timeline per phase",
                           "ms since spawn (| = DB accepting connections, x = app started)", rows))
    standin = [(label, segs, {} if started is None else {"app_start": started})
               for label, segs, started in fig9_standin.chart_rows(results, lambda r: phase_segments("ours", r))]
    if standin:
        panels.append(("The Mathesar-shaped app (stand-in, gunicorn 2 workers): spawn -> first HTTP answer, "
                       "median run", "ms since spawn (x = app started)", standin))
    if not panels:
        return "no successful first boot: chart skipped"
    palette = {"entrypoint setup": "#bbbbbb", "initdb": "#4c72b0", "configuration": "#64b5cd",
               "temp server start": "#dd8452",
               "provisioning (psql)": "#55a868", "temp server stop": "#c44e52",
               "final start -> DB ready": "#8172b3", "final start (no wait)": "#8172b3",
               "server start (pg_ctl -w)": "#8172b3", "python -m mathesar.install": "#e9c46a",
               "app start": "#937860", "app waits for DB": "#da8bc3", "app -> HTTP 200": "#8c8c8c",
               "app -> HTTP answer": "#8c8c8c"}
    extra = ["#ccb974", "#2a9d8f", "#e76f51", "#264653", "#f4a261", "#9b5de5", "#00bbf9", "#6a994e", "#bc4749",
             "#577590", "#f28482"]
    heights = [1.2 + 1.1 * len(rows) for _, _, rows in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, sum(heights)), gridspec_kw={"height_ratios": heights},
                             squeeze=False)
    seen = {}
    for ax, (title, xlabel, rows) in zip(axes[:, 0], panels):
        for y, (label, segs, marks) in enumerate(rows):
            for seg, a, b in segs:
                if seg not in palette:
                    if re.search(r"cluster|initdb|template", seg, re.I):
                        palette[seg] = "#8fb0e8"  # ours' initdb: the baselines' initdb blue, lighter
                    else:
                        palette[seg] = extra[len([k for k in palette if k.startswith("ours:")]) % len(extra)]
                ax.broken_barh([(a, max(b - a, 0.5))], (y - 0.35, 0.7), facecolors=palette[seg],
                               label=None if seg in seen else seg, edgecolor="white", linewidth=0.5)
                seen[seg] = True
            for key, style in (("db_ready", "k|"), ("app_start", "kx")):
                if key in marks:
                    ax.plot([marks[key]], [y], style, markersize=12)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([label for label, _, _ in rows])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = [], []
    for ax in axes[:, 0]:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    axes[0, 0].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return None


def section(results, ours_fail, chart_name, chart_note):
    """(RESULTS.md lines, target lines) of figure 1."""
    fb = results["figures"].get(KEY)
    if not fb:
        return [], []
    S = fb["samples"]
    L = ["## 1. First boot (empty volume)", "",
         "Ready = DB accepting connections and, for flows with an app, the app started.", ""]
    keys = [("ready", "ready"), ("db_ready", "DB accepting connections"), ("app_start", "app started"),
            ("http_200", "first HTTP 200")]
    series = {}
    for key, _ in keys:
        series[key] = {f: [(r["ready"] if key == "ready" else r["marks"].get(key)) if r.get("ok") else None
                           for r in runs] for f, runs in S.items()}
    L += ["ms from spawn, median (min–max) over n runs; ratio rows: ours/flow, pair by pair, median (min–max).",
          "", "| flow | n | " + " | ".join(label for _, label in keys) + " |",
          "|---|---:|" + "---|" * len(keys)]
    for f in S:
        row = [f, str(len(vals(series["ready"][f])))]
        for key, _ in keys:
            sm = summary(series[key][f])
            row.append(f"{fmt_ms(sm['median'], 'ms')} ({fmt_ms(sm['min'], 'ms')}–{fmt_ms(sm['max'], 'ms')})"
                       if sm else "—")
        L.append("| " + " | ".join(row) + " |")
    if "ours" in S:
        for f in S:
            if f != "ours":
                L.append(f"| ours/{f} | | " + " | ".join(
                    ratio_cell(pair_ratios(series[k]["ours"], series[k][f])) for k, _ in keys) + " |")
    if fb["errors"].get("ours") or ours_fail:
        L.append(f"| ours | failed: {fb['errors'].get('ours') or ours_fail} |" + " |" * len(keys))
    L.append("")
    L += ["Phases: the median over runs of each phase's duration. Ours' phases come from its own log lines "
          "(`<phase>: ... (<duration>)`, stamped with their `time`).", "",
          "| flow | phase | median | min | max |", "|---|---|---:|---:|---:|"]
    for flow, runs in S.items():
        per = {}
        for r in runs:
            if r.get("ok"):
                for label, a, b in phase_segments(flow, r):
                    per.setdefault(label, []).append(b - a)
        for label, v in per.items():
            L.append(f"| {flow} | {label} | {fmt_ms(statistics.median(v), 'ms')} | {fmt_ms(min(v), 'ms')} | "
                     f"{fmt_ms(max(v), 'ms')} |")
    L.append("")
    pgi = [r for r in S.get("postgres-image", []) if r.get("ok")]
    initdb = med([r["marks"].get("initdb_end", 0) - r["marks"].get("initdb_begin", 0) for r in pgi])
    ours_ready = med(series.get("ready", {}).get("ours", []))
    targets = [target_line("1 first boot <= postgres-image initdb + 100 ms", ours_ready,
                           None if initdb is None else initdb + 100, "ms")]
    if chart_note:
        L += [f"Chart: {chart_note}", ""]
    else:
        L += [f"![boot timeline]({chart_name})", ""]
    return L, targets
