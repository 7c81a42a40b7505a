"""Statistics and table cells of the report: medians, pairwise ratios, times."""
import statistics


def vals(xs):
    return [x for x in xs if x is not None]


def med(xs):
    v = vals(xs)
    return statistics.median(v) if v else None


def fmt_ms(ns_or_ms, unit="ns"):
    if ns_or_ms is None:
        return "n/a"
    v = ns_or_ms / 1e6 if unit == "ns" else ns_or_ms
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 10:
        return f"{v:.0f} ms"
    if v >= 1:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def summary(xs):
    v = vals(xs)
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def pair_ratios(ours, peer):
    return [a / b for a, b in zip(ours, peer) if a is not None and b is not None and b > 0]


def cell(s, unit):
    if not s:
        return "n/a", "n/a", "n/a", "0"
    return fmt_ms(s["median"], unit), fmt_ms(s["min"], unit), fmt_ms(s["max"], unit), str(s["n"])


def ratio_cell(r):
    if not r:
        return "n/a"
    return f"{statistics.median(r):.2f}x ({min(r):.2f}–{max(r):.2f})"


def timing_table(series, unit, ours_key="ours", failed=None, label="subject"):
    """series: {name: [values]}; a row per name, ratio ours/name pair by pair."""
    rows = [f"| {label} | median | min | max | n | ours/this (pairwise median, min–max) |",
            "|---|---:|---:|---:|---:|---|"]
    ours = series.get(ours_key)
    for name, xs in series.items():
        s = summary(xs)
        med_, mn, mx, n = cell(s, unit)
        if name == ours_key:
            r = "—"
        elif ours is None:
            r = "ours n/a"
        else:
            r = ratio_cell(pair_ratios(ours, xs))
        rows.append(f"| {name} | {med_} | {mn} | {mx} | {n} | {r} |")
    if failed:
        rows.append(f"| ours | failed: {failed} | | | | |")
    return "\n".join(rows)


def target_line(name, value, limit, unit="ms", fmt=None):
    if value is None or limit is None:
        return f"- {name}: n/a (not measured)"
    met = value <= limit
    f = fmt or (lambda v: fmt_ms(v, unit))
    return f"- {name}: {'MET' if met else 'MISSED'} — ours {f(value)} vs limit {f(limit)}"
