"""RESULTS.md: the run's header, each figure's section in order (each
figure's file writes its own), the targets, how it was measured."""
import os
import platform
import re
import subprocess
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
import small


def machine_info():
    info = {"kernel": platform.release(), "arch": platform.machine(), "nproc": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            info["cpu"] = m.group(1).strip() if m else "?"
        with open("/proc/meminfo") as f:
            info["mem_total_mib"] = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) // 1024
        with open("/etc/os-release") as f:
            info["os"] = re.search(r'PRETTY_NAME="?([^"\n]+)', f.read()).group(1)
    except (OSError, AttributeError):
        pass
    info["python"] = platform.python_version()
    return info


def versions(ctx):
    out = {}
    for pkg in ["tini", "dumb-init", "catatonit", "supervisor", "postgresql-15", "util-linux"]:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        out[pkg] = r.stdout.strip() or "not installed"
    if ctx.ours.exists():
        try:
            r = subprocess.run([str(ctx.ours), "version"], capture_output=True, text=True, timeout=5)
            out["mathesar-init"] = (r.stdout.strip() or r.stderr.strip() or f"exit {r.returncode}").splitlines()[0][:80]
        except Exception as e:  # noqa: BLE001
            out["mathesar-init"] = f"error: {e}"
    else:
        out["mathesar-init"] = "not built"
    return out


def ours_failures(results):
    """{where: reason} for every place ours failed (a figure, or before any)."""
    out = {}
    if results["meta"].get("ours_error"):
        out["all figures"] = results["meta"]["ours_error"]
        return out
    for key, f in results["figures"].items():
        e = f.get("errors", {}).get("ours")
        if e:
            out[f"figure {key}"] = e[:300]
    return out


def write_markdown(results, path, chart_name, chart_note):
    meta = results["meta"]
    ours_fail = meta.get("ours_error")
    fails = ours_failures(results)
    L = [f"# mathesar-init benchmarks ({meta['mode']} run)", "",
         f"Date: {meta['date']} · run time {meta['duration_s']:.0f} s · command: `{meta['command']}`", "",
         "Machine: " + ", ".join(f"{k} {v}" for k, v in meta["machine"].items()), ""]
    if meta.get("load_average"):
        la = meta["load_average"]
        L += ["Load average (1, 5, 15 min) at the start: " + ", ".join(map(str, la["start"]))
              + "; at the end: " + ", ".join(map(str, la["end"])) + f" ({meta['machine'].get('nproc')} CPUs).", ""]
    L += [
         "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
         "Every subject runs as PID 1 under `unshare --pid --fork --mount-proc`. `ours/this` is the median of "
         "the ratios ours/peer taken pair by pair (same round); absolute times move ±50% between runs here.", ""]
    if fails:
        L += ["**ours: failed:** " + "; ".join(f"{k}: {v}" for k, v in fails.items()), ""]
    targets = []
    sections = [fig1_first_boot.section(results, ours_fail, chart_name, chart_note),
                fig2_warm_boot.section(results, ours_fail), fig3_stop.section(results, ours_fail),
                fig4_memory.section(results, ours_fail), fig5_idle.section(results, ours_fail)]
    sections += [small.section(results, ours_fail, figure) for figure in (fig6_signal, fig7_reap, fig8_start)]
    sections += [fig9_standin.section(results, ours_fail), fig10_image.section(results, ours_fail)]
    for lines, figure_targets in sections:
        L += lines
        targets += figure_targets

    L += ["## Targets", ""] + targets + [""]
    L += ["## How this was measured", "",
          "- Flows (figures 1-3): `postgres-image` = bench/baselines/postgres-image.sh, the official postgres "
          "image's entrypoint step by step (initdb, socket-only temporary server with `pg_ctl -w start`, psql, "
          "`pg_ctl -m fast -w stop`, exec `postgres`, which becomes PID 1). `mathesar-image` = "
          "bench/baselines/mathesar-image.sh, Mathesar's current run.sh/db-run.sh (pg_createcluster-style init, "
          "daemonized start, psql, stop, daemonized start without readiness wait, app in the foreground under "
          "bash as PID 1); it calls pg_ctl directly, so it skips pg_ctlcluster's 0.5 s polling sleeps: it is "
          "faster than the real image. `bare-postgres` = `postgres -D` as PID 1 on the postgres-image volume. "
          "`ours` = mathesar-init with the bundled server (POSTGRES_HOST unset).",
          "- The app in figure 1 is bench/helpers/demo_app.py (Python: marks its start, waits for an "
          "authenticated psql connection, serves HTTP 200); in figures 2-5 it is a C child that stamps its "
          "start and pauses. 'DB accepting connections' is what pg_isready asks (a startup packet on "
          "127.0.0.1 not refused with 57P03), probed every millisecond by the harness; for mathesar-image "
          "the probe starts after its final start, since its temporary server listens on TCP too.",
          "- Figures 6-8 run each init with a tiny C child (bench/helpers/benchkit.c); `direct` is that child as "
          "PID 1 with no init (figure 7: a parent reaping its own children, the floor). `ours` runs there "
          "against an external PostgreSQL that is already up (POSTGRES_HOST=127.0.0.1), so its start includes "
          "its database check but no database boot.",
          "- Figure 3: stop signal, then the time until unshare's child (PID 1) has exited; cluster state read "
          "with pg_controldata afterwards. Figures 4/5: every subject booted at once, 2 s settle, VmRSS/RssAnon/"
          "RssFile from /proc/PID/status and Pss from /proc/PID/smaps_rollup of PID 1, then context switches and "
          "utime+stime of PID 1 over the idle window.",
          "- A subject whose samples take more than 30 s in one figure (supervisord: it reaps at most 100 "
          "children per 1 s loop turn and handles signals at its next turn) gets no more samples.", ""]
    Path(path).write_text("\n".join(L))
