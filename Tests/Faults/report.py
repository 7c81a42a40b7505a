#!/usr/bin/env python3
"""Turns the fault suite's figures (out/summary-<scale>.json, written by every
pytest run of Tests/Faults) into the Markdown of RESULTS.md, which the
README's "Reliability" section is made from.

    python Tests/Faults/report.py                 # print, from out/summary-full.json
    python Tests/Faults/report.py --scale ci      # from a CI-sized run
    python Tests/Faults/report.py --write         # write Tests/Faults/RESULTS.md
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def moments(kills):
    return ", ".join(f"{name} {count}" for name, count in kills.items())


def rows(f):
    """(fault, what was done, result) for each area that ran."""
    out = []
    k = f.get("kill_storm")
    if k:
        late = k["kills_by_moment"].get("stop:finished-first", 0)
        landed = {name: n for name, n in k["kills_by_moment"].items() if name != "stop:finished-first"}
        out.append(("Kill storm",
                    f"{k['cycles']} boot cycles of a writer app on one volume; {k['cycles'] - late} ended by SIGKILL of "
                    f"the whole PID namespace at a random moment (where it landed: {moments(landed)})"
                    + (f"; in {late} the SIGKILL came just after a stop had finished" if late else ""),
                    f"all {k['cycles']} cycles survived (every next boot worked); {k['rows_acknowledged']:,} acknowledged "
                    f"commits, {k['rows_checked']:,} rows checked, **{k['rows_lost']} lost**; pg_amcheck {k['amcheck']}; "
                    f"{k['leftover_temporaries']} temporary files or directories left"))
    t = f.get("stop_during_initdb")
    if t:
        out.append(("Stop during initdb", f"SIGTERM at {t['stops']} points inside first-boot initdb",
                    f"exit {t['exit_code']}, {t['temporaries_left']} temporary directories or partial clusters left; "
                    "the next boot made the cluster"))
    a = f.get("app_crash_loop")
    if a:
        kinds = ", ".join(f"{n} {s}" for s, n in a["deaths_by_signal"].items())
        out.append(("App crash loop", f"{a['deaths']} app deaths in a row ({kinds})",
                    f"{a['restarts']} restarts, gaps {' / '.join(map(str, a['backoff_gaps_s']))} s (backoff 0.5/1/2/4 s "
                    f"plus run time); the 5th exit within 60 s ended the container with {a['exit_code']}; no zombie, "
                    "no descriptor leak"))
    a = f.get("app_kills_writing")
    if a:
        out.append(("App killed while writing", f"the writer app killed by {', '.join(a['signals'])}",
                    f"{a['restarts']} restarts, PostgreSQL untouched ({a['postgres_restarts']} restarts); "
                    f"{a['rows_checked']:,} acknowledged rows checked, **{a['rows_lost']} lost**"))
    p = f.get("postmaster_kills")
    if p:
        out.append(("PostgreSQL killed",
                    f"postmaster SIGKILLed {p['kills']} times while the app wrote",
                    f"{p['postgres_restarts']} restarts, the app {'kept running' if p['app_kept_running'] else 'was restarted'}; "
                    f"{p['rows_checked']:,} acknowledged rows checked, **{p['rows_lost']} lost**; pg_amcheck {p['amcheck']}"))
    c = f.get("postmaster_crash_loop")
    if c:
        out.append(("PostgreSQL crash loop", f"postmaster SIGKILLed {c['kills']} times within a minute",
                    f"exit {c['exit_code']}; next boot has all {c['rows_checked']:,} acknowledged rows (**{c['rows_lost']} lost**)"))
    m = f.get("migrate_kills")
    if m:
        out.append(("Migration killed", f"MATHESAR_MIGRATE_COMMAND killed by {', '.join(m['signals'])} while it wrote",
                    f"exit {m['exit_code']} each time, app never started, cluster shut down cleanly; "
                    f"{m['rows_checked']:,} acknowledged rows checked, **{m['rows_lost']} lost**"))
    v = f.get("volume_full_initdb")
    if v:
        out.append(("Volume full during initdb", f"tmpfs volume of {', '.join(v['sizes_tried'])} "
                    f"(the volume, or PGDATA, is the mount)",
                    f"exit {v['exit_code']} naming \"No space left on device\"; {v['half_made_left']} half-made clusters or "
                    f"temporaries left; the next boot with space {v['next_boot_with_space']}"))
    v = f.get("volume_full_migration")
    if v:
        out.append(("Volume full during a migration", "a migration filling a 96 MiB tmpfs volume through PostgreSQL",
                    f"exit {v['exit_code']}; {v['batches_committed']} committed transactions all whole "
                    f"({v['half_written_batches']} half-written); {v['rows_checked']:,} acknowledged rows, "
                    f"**{v['rows_lost']} lost**; pg_amcheck {v['amcheck']}; next boot with space {v['next_boot_with_space']}"))
    v = f.get("volume_full_shutdown")
    if v:
        out.append(("Volume full at shutdown", "the app fills the volume, then exits; PostgreSQL's shutdown checkpoint fails",
                    f"reported as an unclean shutdown; next boot with space {v['next_boot_with_space']}, pg_amcheck {v['amcheck']}"))
    d = f.get("fd_limit")
    if d:
        out.append(("Open-file limit", f"`prlimit --nofile={d['limit']}` on PID 1 (inherited by PostgreSQL and the app)",
                    f"boots, {d['app_restarts']} app restarts, clean stop; PID 1 held {d['pid1_open_fds']} descriptors; "
                    "limits below 16 are refused up front with a clear message"))
    r = f.get("read_only")
    if r:
        out.append(("Read-only volume", "data volume, or PGDATA alone, mounted read-only over an existing cluster",
                    f"exit {r['exit_code']} naming the mount, {r['changed_entries']} entries changed"))
    s = f.get("signal_storm")
    if s:
        handled = s["handled_total"]
        out.append(("Signal storm",
                    f"{s['signals_sent']:,} forwarded signals (HUP, USR1, USR2, WINCH, TTIN, TTOU) in {s['storm_seconds']} s "
                    f"while the app spawned and reaped {s['app_children_reaped']:,} children and made "
                    f"{s['orphans_reaped_by_pid1']:,} orphans for PID 1",
                    f"the app handled {handled:,} (standard signals coalesce); **{s['kinds_lost']} kinds lost** (each kind "
                    f"handled again after its last send); {s['zombies_left']} zombies, no descriptor leak; a SIGTERM afterwards, "
                    f"with the storm still going, stopped everything in {s['stop_seconds_after_storm']} s"))
    h = f.get("hostile_input")
    if h:
        out.append(("Hostile environments",
                    f"{h['inputs_tried']} environments ({h['fixed_table']} in a fixed table, {h['generated']} generated): "
                    "overlong values, binary junk, unicode look-alikes, negative and huge numbers, X/X_FILE clashes, "
                    "directories, FIFOs and devices for files, symlink and hard-link tricks out of the volume",
                    f"{h['exited_78']} exited 78 naming the variable; **{h['writes_outside_data_dir']} writes** anywhere; "
                    f"{h['secrets_shown']} secrets shown; unrelated non-UTF-8 variables reach the app "
                    f"{h.get('unrelated_binary_values_passed_through', '(not run)')}"))
    p = f.get("privileges")
    if p:
        upgrade = sum(v for k, v in p.items() if k.startswith("upgrade_") and k.endswith("_copies"))
        out.append(("No way up",
                    "links planted by `postgres` in the old cluster at an upgrade (conf.d, conf.d/*.conf, pg_ident.conf), "
                    "hard links at every temporary name and in PGDATA, a migrate command printing both secrets "
                    "(plain, URL, JSON, Basic auth, cut), ~/.pgpass and PG* for the root helper, a setuid-root program "
                    "for the app, COPY TO PROGRAM and self-grants by the app's role",
                    f"**{upgrade} root-only files copied**; {p.get('planted_temporaries_given_away', '?')} planted files changed; "
                    f"{p.get('secret_forms_shown', '?')} secret forms shown; app NoNewPrivs "
                    f"{p.get('app_no_new_privs_default', '?')}; PID 1 and helper dumpable: "
                    f"{p.get('pid1_and_helper_dumpable', '?')}; role {p.get('bundled_role', '?')}, "
                    f"COPY TO PROGRAM {p.get('copy_to_program', '?')}"))
    u = f.get("upgrade_kills")
    if u:
        out.append(("Kills inside an upgrade",
                    f"{u['kills']} SIGKILLs of the PID namespace during a PostgreSQL 15 -> 17 upgrade, each aimed at a "
                    f"journal step (waiting for the journal to name it), modes {moments(u['by_mode'])}; where they landed: "
                    f"{moments(u['by_step'])}",
                    f"every next boot finished the upgrade (or undid and redid it); {u['rows_checked']:,} acknowledged rows "
                    f"checked, **{u['rows_lost']} lost**; pg_amcheck {u['amcheck']} after each; nothing left beside PGDATA"))
    u = f.get("upgrade_sigterm")
    if u:
        out.append(("Stop inside an upgrade", f"SIGTERM during pg_upgrade, {u['stops']} times (one per mode)",
                    f"exit 143 (the contract's stop); the next boot resumed; {u['rows_checked']:,} rows checked, "
                    f"**{u['rows_lost']} lost**"))
    u = f.get("upgrade_full_disk")
    if u:
        out.append(("Volume full inside an upgrade",
                    f"a {u['tmpfs_mib']} MiB tmpfs volume filled at journal steps {', '.join(u['steps'])}",
                    f"the upgrade failed and was undone each time (exit 73 naming the full disk); the old cluster booted "
                    f"with every row, and the upgrade succeeded once there was room; {u['rows_checked']:,} rows checked, "
                    f"**{u['rows_lost']} lost**"))
    r = f.get("volume_race")
    if r:
        out.append(("Two containers, one volume",
                    f"{r['tries']} races of two PID 1s released at the same instant on a fresh volume "
                    f"({r['bundled_first_boot_tries']} bundled first boots; release spread median "
                    f"{r['release_spread_ms_median']} ms, max {r['release_spread_ms_max']} ms)",
                    f"exactly one winner {r['exactly_one_winner']}/{r['tries']} times; the other exited {r['loser_exit_code']}"))
    return out


def markdown(summary):
    tests = summary["tests"]
    passed = sum(1 for t in tests.values() if t["outcome"] == "passed")
    failed = [name for name, t in tests.items() if t["outcome"] != "passed"]
    lines = [
        "## Reliability",
        "",
        "The fault-injection suite (`Tests/Faults`) runs the real binary as PID 1 of its own PID namespace against a "
        "real PostgreSQL 15, and breaks things on purpose: it SIGKILLs everything at random moments, crashes the app "
        "and the postmaster, fills and freezes the volume, floods PID 1 with signals, and feeds it hostile "
        "environments. A row counts as acknowledged only once COMMIT returned and the writer had recorded it (fsync'd) "
        "outside the volume.",
        "",
        f"Last run: `FAULTS_SCALE={summary['scale']}`, {summary['started']}, revision {summary['revision']}, seed "
        f"{summary['seed']}, {summary['machine']['cpus']} CPUs, {summary['seconds'] / 60:.1f} minutes; "
        f"{passed} of {len(tests)} tests passed" + (f" (failed: {', '.join(failed)})" if failed else "") + ".",
        "",
        "| Fault | What was done | Result |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows(summary["figures"])]
    lines += [
        "",
        "### Rerunning it",
        "",
        "As root, after `./dev setup` and `swift build -c release`:",
        "",
        "```sh",
        "FAULTS_SCALE=full .cache/venv/bin/python -m pytest -q Tests/Faults   # the figures above (about "
        f"{max(1, round(summary['seconds'] / 60)) if summary['scale'] == 'full' else '20'} minutes)",
        ".cache/venv/bin/python Tests/Faults/report.py --write                # this table, from Tests/Faults/out/summary-full.json",
        "```",
        "",
        "`./dev test` (and so `.ci/run`) runs the same suite with `FAULTS_SCALE=ci` (default): "
        "fewer kill cycles, signals, generated inputs and races, a few minutes in all. "
        "`FAULTS_SEED=N` repeats a run's random choices (the seed is printed in the pytest header and kept in the summary).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="full")
    parser.add_argument("--write", action="store_true", help="write Tests/Faults/RESULTS.md instead of printing")
    args = parser.parse_args()
    source = HERE / "out" / f"summary-{args.scale}.json"
    if not source.exists():
        sys.exit(f"{source} does not exist: run FAULTS_SCALE={args.scale} pytest Tests/Faults first")
    text = markdown(json.loads(source.read_text()))
    if args.write:
        (HERE / "RESULTS.md").write_text(text)
        print(f"wrote {HERE / 'RESULTS.md'}")
    else:
        print(text)


if __name__ == "__main__":
    main()
