#!/usr/bin/env python3
"""Benchmarks mathesar-init against its peers, side by side, in one run.

    bench/setup.sh                    # once: peers, PostgreSQL 15, helpers, matplotlib
    python3 bench/run.py              # full run (< 10 min) -> bench/RESULTS.md,
                                      #   bench/results.json, bench/boot-timeline.png
    python3 bench/run.py --smoke      # 1 iteration each, a few seconds of idleness;
                                      #   writes under bench/out/smoke/ (CI runs this)
    python3 bench/run.py --ours PATH  # point it at another mathesar-init binary
    python3 bench/run.py --only 1,2   # some figures only

Each figure is measured in its own file (figN_*.py) over the shared pieces
(common.py, flows.py, resting.py, small.py) and the test kit (Tests/kit);
this file only runs them and writes the results (report.py, stats.py).

Every subject runs as PID 1 under `unshare --pid --fork --mount-proc`. Ratios are
ours/peer, computed pair by pair (sample i of ours with sample i of the peer,
taken in the same round), then summarised by their median: absolute times on
these machines move by +-50% between runs, ratios within one run hold.

Figures:
  1 first boot: empty volume -> DB accepting connections -> app started -> HTTP 200
  2 warm boot: existing volume -> ready
  3 stop: stop signal to PID 1 -> PID 1 exited, and was the cluster shut down cleanly
  4 PID 1 memory after boot: VmRSS, Pss
  5 PID 1 idle wake-ups: voluntary context switches and CPU ticks over an idle window
  6 signal forwarding: SIGTERM to PID 1 -> a trapping child ran its handler
  7 reaping: N zombies handed to PID 1 at once -> none left (floor: a parent
    reaping its own N children)
  8 start -> child running
  9 the Mathesar-shaped app (docker/standin): first and warm boot to the first
    HTTP answer, ours vs Mathesar's own image flow vs the floor (gunicorn alone)
 10 the image: size, first `podman run` on a fresh volume -> first HTTP answer

mathesar-init failing never stops the run: its rows say "failed: <reason>".
Python 3 standard library only; matplotlib only for the chart (skipped without it).
"""
import argparse
import datetime
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import fig1_first_boot
import fig2_warm_boot
import fig3_stop
import fig4_memory
import fig5_idle
import fig6_signal
import fig7_reap
import fig8_start
import fig9_standin
import fig10_image
import report
import resting
import small
from common import BENCHKIT, HERE, OUT, REPO, Ctx, PG_BIN, kill_live, log, settle, start_extdb, stop_extdb


def run_figures(ctx, only, rounds, boot_timeout, figures):
    """Runs the figures asked for into `figures` (results.json's keys)."""
    if only & {1, 2, 3}:
        fb, keep = fig1_first_boot.measure(ctx, rounds["first"], boot_timeout)
        if 1 in only:
            figures[fig1_first_boot.KEY] = fb
        if only & {2, 3}:
            settle()
            wb, st = fig2_warm_boot.measure(ctx, keep, rounds["warm"], boot_timeout)
            if 2 in only:
                figures[fig2_warm_boot.KEY] = wb
            if 3 in only:
                figures[fig3_stop.KEY] = st
        for v in keep.values():
            shutil.rmtree(v["dir"], ignore_errors=True)
    if only & {4, 5}:
        settle()
        subs = resting.boot_all(ctx, boot_timeout)
        try:
            pids = resting.measured(subs)
            mem = fig4_memory.measure(pids)
            log("memory: " + ", ".join(f"{n}={v['vmrss_kib']} KiB" for n, v in mem.items())
                + f"; idle {ctx.args.idle_seconds} s ...")
            idle = fig5_idle.measure(pids, ctx.args.idle_seconds, mem)
            log("idle: " + ", ".join(f"{n}={v['voluntary_ctxt_switches']} csw/{v['cpu_ticks']} ticks"
                                     for n, v in idle.items()))
        finally:
            resting.stop_all(ctx, subs)
        figures[fig4_memory.KEY] = {"memory": mem, "idle": idle, "errors": resting.errors(subs)}
    if only & {6, 7, 8}:
        settle()
        if ctx.ours_ok():
            try:
                start_extdb(ctx)
            except Exception as e:  # noqa: BLE001
                ctx.extdb_error = f"could not start the external database for figures 6-8: {e}"
        try:
            for number, figure in ((6, fig6_signal), (7, fig7_reap), (8, fig8_start)):
                if number in only:
                    figures[figure.KEY] = small.measure(ctx, figure, rounds[figure.KIND])
        finally:
            stop_extdb(ctx)
    if 9 in only:
        settle()
        figures[fig9_standin.KEY] = fig9_standin.measure(ctx, rounds["standin"], boot_timeout)
    if 10 in only:
        settle()
        figures[fig10_image.KEY] = fig10_image.measure(ctx, rounds["image"], boot_timeout * 4)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="1 iteration each, short idle window, output in bench/out/smoke")
    ap.add_argument("--ours", default=str(REPO / ".build/release/mathesar-init"))
    ap.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for mathesar-init (repeatable)")
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10", help="figures to run, e.g. 1,2 (2 and 3 run together)")
    ap.add_argument("--rounds", type=int, help="override every iteration count")
    ap.add_argument("--idle-seconds", type=float, help="idle window of figure 5 (default 60, smoke 3)")
    ap.add_argument("--zombies", type=int, help="zombies handed to PID 1 in figure 7 (default 2000, smoke 200)")
    ap.add_argument("--docker-stop-timeout", type=float, help="grace before SIGKILL in figure 3 (default 10, smoke 2)")
    ap.add_argument("--docker-stop-samples", type=int, default=2,
                    help="figure-3 samples of the mathesar-image flow (each waits the whole grace period)")
    ap.add_argument("--pgbin", default=str(PG_BIN))
    ap.add_argument("--workdir", default=str(OUT / "work"))
    ap.add_argument("--outdir", help="where RESULTS.md, results.json and the chart go "
                                     "(default bench/, smoke: bench/out/smoke)")
    ap.add_argument("--keep-work", action="store_true", help="keep bench/out/work (logs, volumes) for debugging")
    ap.add_argument("--require-ours", action="store_true", help="exit 1 when mathesar-init failed")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    random.seed(args.seed)
    t_start = time.monotonic()
    load_start = os.getloadavg()
    smoke = args.smoke
    r = args.rounds
    rounds = {"first": r or (1 if smoke else 7), "warm": r or (1 if smoke else 12), "signal": r or (1 if smoke else 40),
              "reap": r or (1 if smoke else 20), "start": r or (1 if smoke else 40),
              "standin": r or (1 if smoke else 7), "image": r or (1 if smoke else 3)}
    if args.zombies is None:
        args.zombies = 200 if smoke else 2000
    if args.idle_seconds is None:
        args.idle_seconds = 3 if smoke else 60
    if args.docker_stop_timeout is None:
        args.docker_stop_timeout = 2 if smoke else 10
    if smoke:
        args.docker_stop_samples = min(args.docker_stop_samples, 1)
    outdir = Path(args.outdir) if args.outdir else (OUT / "smoke" if smoke else HERE)
    outdir.mkdir(parents=True, exist_ok=True)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    boot_timeout = 30 if smoke else 60

    if os.geteuid() != 0:
        sys.exit("bench/run.py needs root (unshare --pid, running the server as the postgres user)")
    if not BENCHKIT.exists():
        sys.exit(f"{BENCHKIT} missing: run bench/setup.sh first")
    for tool in ["unshare", "setpriv", "runuser", "bash", f"{args.pgbin}/initdb"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: run bench/setup.sh first")

    ctx = Ctx(args)
    shutil.rmtree(ctx.work, ignore_errors=True)
    ctx.work.mkdir(parents=True)
    os.chmod(ctx.work, 0o755)
    if not ctx.ours.exists():
        ctx.ours_error = f"binary not found at {ctx.ours}"
    elif not os.access(ctx.ours, os.X_OK):
        ctx.ours_error = f"{ctx.ours} is not executable"
    elif not (ctx.ours.parent / "mathesar-init-db").exists():
        log(f"warning: {ctx.ours.parent / 'mathesar-init-db'} missing")
    log(f"mode {'smoke' if smoke else 'full'}; ours: {ctx.ours_error or ctx.ours}; peers: "
        + ", ".join(p for p, ok in ctx.available.items() if ok))

    results = {"meta": {}, "figures": {}}
    try:
        run_figures(ctx, only, rounds, boot_timeout, results["figures"])
    finally:
        kill_live()

    results["meta"] = {
        "mode": "smoke" if smoke else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python3 bench/run.py" + (" --smoke" if smoke else "") + (
            "" if args.ours == str(REPO / ".build/release/mathesar-init") else f" --ours {args.ours}"),
        "duration_s": time.monotonic() - t_start,
        "machine": report.machine_info(), "versions": report.versions(ctx), "ours_error": ctx.ours_error,
        # other work on the machine moves every absolute time: the run says how busy it was
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
        "config": {"rounds": rounds, "idle_seconds": args.idle_seconds, "zombies": args.zombies,
                   "docker_stop_timeout": args.docker_stop_timeout, "docker_stop_samples": args.docker_stop_samples,
                   "ours": str(ctx.ours), "ours_env": ctx.ours_env, "pgbin": args.pgbin},
    }
    chart = outdir / "boot-timeline.png"
    note = fig1_first_boot.write_chart(results, chart)
    results["meta"]["duration_s"] = time.monotonic() - t_start
    (outdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    report.write_markdown(results, outdir / "RESULTS.md", chart.name, note)
    if not args.keep_work:
        shutil.rmtree(ctx.work, ignore_errors=True)
    log(f"wrote {outdir / 'RESULTS.md'}, {outdir / 'results.json'}" + ("" if note else f", {chart}")
        + f" in {results['meta']['duration_s']:.0f} s")
    fails = report.ours_failures(results)
    for k, v in fails.items():
        log(f"ours: failed: {k}: {v}")
    # The harness itself must work: a peer or baseline that failed is an error.
    broken = []
    for key, f in results["figures"].items():
        samples = f.get("samples", {})
        for n, xs in samples.items():
            if n == "ours" or n.startswith("ours_"):
                continue
            if not any((x.get("ok") if isinstance(x, dict) else x is not None) for x in xs if x is not None):
                if not (key == fig3_stop.KEY and n == "mathesar-image"):
                    broken.append(f"{key}:{n}")
        for n in f.get("errors", {}):
            if n != "ours":
                broken.append(f"{key}:{n}")
    if broken:
        log("harness problem, no sample for: " + ", ".join(broken))
        return 1
    if args.require_ours and fails:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
