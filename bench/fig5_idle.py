"""Figure 5, PID 1 idle wake-ups: voluntary and involuntary context switches
and CPU ticks of PID 1 over an idle window, every subject at rest at once
(resting.py)."""
import time

from common import CLK_TCK
from fig4_memory import KEY, kib
from kit import procfs
from stats import target_line


def counters(pid):
    st, ps = procfs.status(pid), procfs.stat(pid)
    return int(st["voluntary_ctxt_switches"]), int(st["nonvoluntary_ctxt_switches"]), ps["utime"] + ps["stime"]


def measure(pids, idle_s, mem):
    """{name: wake-ups of PID 1 over idle_s s}; each one's VmRSS at the end goes into mem."""
    before = {name: counters(pid) for name, pid in pids.items()}
    time.sleep(idle_s)
    idle = {}
    for name, pid in pids.items():
        after = counters(pid)
        idle[name] = {"voluntary_ctxt_switches": after[0] - before[name][0],
                      "nonvoluntary_ctxt_switches": after[1] - before[name][1],
                      "cpu_ticks": after[2] - before[name][2], "window_s": idle_s, "clk_tck": CLK_TCK}
        mem[name]["vmrss_kib_end"] = kib(procfs.status(pid), "VmRSS")
    return idle


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 5."""
    mi = results["figures"].get(KEY)
    if not mi:
        return [], []
    idle = mi["idle"]
    w = next(iter(idle.values()))["window_s"] if idle else 0
    L = [f"## 5. PID 1 idle wake-ups over {w} s", "",
         "| PID 1 of | voluntary ctxt switches | involuntary | CPU ticks (utime+stime, 1/"
         f"{CLK_TCK} s) |", "|---|---:|---:|---:|"]
    for n, v in idle.items():
        L.append(f"| {n} | {v['voluntary_ctxt_switches']} | {v['nonvoluntary_ctxt_switches']} | "
                 f"{v['cpu_ticks']} |")
    L.append("")
    oi = idle.get("ours")
    targets = [target_line("5 idle wake-ups = 0", oi["voluntary_ctxt_switches"] if oi else None, 0,
                           fmt=lambda v: f"{v} switches")]
    return L, targets
