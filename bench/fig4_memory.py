"""Figure 4, PID 1 memory after boot: VmRSS, Pss, RssAnon, RssFile of PID 1
of every subject, all booted at once (resting.py)."""
from kit import procfs
from stats import target_line

KEY = "4_5_memory_idle"  # figures 4 and 5 share their boot, and their entry in results.json


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, PermissionError):
        return None
    return None


def kib(status, field):
    return int(status.get(field, "0 kB").split()[0])


def measure(pids):
    """{name: memory of PID 1} for {name: host pid}."""
    mem = {}
    for name, pid in pids.items():
        st = procfs.status(pid)
        mem[name] = {"comm": procfs.stat(pid)["comm"], "vmrss_kib": kib(st, "VmRSS"), "pss_kib": pss_kib(pid),
                     "rss_anon_kib": kib(st, "RssAnon"), "rss_file_kib": kib(st, "RssFile")}
    return mem


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 4."""
    mi = results["figures"].get(KEY)
    if not mi:
        return [], []
    mem = mi["memory"]
    L = ["## 4. PID 1 memory after boot", "",
         "| PID 1 of | process | VmRSS | Pss | RssAnon | RssFile | ours/this (VmRSS) |",
         "|---|---|---:|---:|---:|---:|---|"]
    o = mem.get("ours")
    for n, v in mem.items():
        r = "—" if n == "ours" else (f"{o['vmrss_kib'] / v['vmrss_kib']:.2f}x" if o else "ours n/a")
        L.append(f"| {n} | {v['comm']} | {v['vmrss_kib']} KiB | {v['pss_kib']} KiB | {v['rss_anon_kib']} KiB | "
                 f"{v['rss_file_kib']} KiB | {r} |")
    if ours_fail and not o:
        L.append(f"| ours | failed: {ours_fail} | | | | | |")
    for n, e in mi["errors"].items():
        L.append(f"| {n} | failed: {e[:150]} | | | | | |")
    L.append("")
    targets = [target_line("4 PID 1 memory <= 4 MiB (VmRSS)", o["vmrss_kib"] if o else None, 4096,
                           fmt=lambda v: f"{v} KiB")]
    return L, targets
