"""Figure 9, the Mathesar-shaped app (the stand-in, docker/standin): first
boot and warm boot to the first HTTP answer, pair by pair in one run:

  ours      mathesar-init as PID 1, bundled PostgreSQL; its first boot copies
            the template `mathesar-init prepare` made once before the rounds
            (at image build in the image: not timed), MATHESAR_MIGRATE=changed
  mathesar  Mathesar's own image flow (`bin/mathesar run -fnse`) re-created in
            baselines/mathesar-run.sh: initdb, daemonized server, psql,
            `python -m mathesar.install` at every boot, exec gunicorn
  floor     gunicorn alone as PID 1 on a database already up and migrated

Every flow runs the same gunicorn command (2 workers) and is timed from its
spawn to the first HTTP answer of any status (`GET /` answers 302 without
touching a database). One round = ours' first boot, Mathesar's first boot,
ours' warm boot (the same volume), Mathesar's warm boot, the floor (on
Mathesar's volume); the pair order flips each round."""
import os
import shutil
import signal
import subprocess
import time

from common import HERE, REPO, Subject, base_env, log, ours_bundled_env, read_marks
from flows import http_status, new_marks, parse_phase_lines, stop_clean
from kit import PostgresServer, free_port
from stats import fmt_ms, med, pair_ratios, ratio_cell, summary, target_line

KEY = "9_standin"
STANDIN = REPO / "docker" / "standin"
VENV = REPO / ".cache" / "standin-venv"
MATHESAR_RUN = HERE / "baselines" / "mathesar-run.sh"
FINGERPRINT = f"{STANDIN}/mathesar/__init__.py:{STANDIN}/mathesar/migrations"
MIGRATE = "python -m mathesar.install"
KINDS = ["ours_first", "mathesar_first", "ours_warm", "mathesar_warm", "floor"]


def app_env(**extra):
    """The app's environment, as the image sets it (no static collection at boot)."""
    env = base_env()
    env.update(PATH=f"{VENV}/bin:" + env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin",
               DJANGO_SETTINGS_MODULE="config.settings.production", SKIP_STATIC_COLLECTION="true",
               PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def gunicorn(port):
    return [f"{VENV}/bin/gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "2"]


def answers(port):
    """Whether anything answers HTTP on 127.0.0.1:port."""
    return http_status(port, timeout=1).startswith(b"HTTP/")


def first_answer(inst, port, timeout):
    """ms from the subject's spawn to its first HTTP answer (polled every 2 ms:
    a benchmark's resolution); raises with the subject's last lines when it
    exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not inst.alive():
            raise RuntimeError(f"PID 1 exited with {inst.proc.returncode} before answering: {inst.tail()}")
        if answers(port):
            return (time.time_ns() - inst.t0_wall) / 1e6
        time.sleep(0.002)
    raise RuntimeError(f"no HTTP answer in {timeout} s: {inst.tail()}")


def stop_subject(inst):
    if inst.alive():
        inst.signal(signal.SIGTERM)
        if not inst.exited_within(30):
            inst.kill()
            return
    inst.close()


def prepare(ctx):
    """The template cluster (what the image build makes); returns its directory."""
    template = ctx.work / "standin-template"
    env = app_env(MATHESAR_TEMPLATE_DIR=template, MATHESAR_PG_BINDIR=ctx.pgbin, POSTGRES_PORT=free_port(),
                  MATHESAR_APP_FINGERPRINT_PATHS=FINGERPRINT, MATHESAR_MIGRATE_COMMAND=MIGRATE)
    env.update(ctx.ours_env)
    t = time.monotonic()
    r = subprocess.run([str(ctx.ours), "prepare"], cwd=STANDIN, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"mathesar-init prepare exited {r.returncode}: {(r.stderr or r.stdout)[-600:]}")
    log(f"standin: prepare (image build, not timed in the figure) {time.monotonic() - t:.2f} s")
    return template


def boot_ours(ctx, vol, template, timeout):
    env = ours_bundled_env(ctx, vol, free_port())
    env.update(app_env(), MATHESAR_TEMPLATE_DIR=str(template), MATHESAR_APP_FINGERPRINT_PATHS=FINGERPRINT,
               MATHESAR_MIGRATE_COMMAND=MIGRATE)
    env.update(ctx.ours_env)
    port = free_port()
    inst = Subject([ctx.ours, "run", "--", *gunicorn(port)], env, vol["dir"] / "ours.log", capture=True, cwd=STANDIN)
    try:
        ms = first_answer(inst, port, timeout)
        phases = parse_phase_lines(inst.timed_lines(), inst.t0_wall)
    finally:
        stop_subject(inst)
    return {"ok": True, "ms": ms, "log_phases": phases}


def boot_mathesar(ctx, vol, timeout):
    marks = new_marks(vol, f"marks-{time.monotonic_ns()}")
    port = free_port()
    env = app_env(PGBIN=ctx.pgbin, PGDATA=vol["mpgdata"], BENCH_SOCKDIR=vol["sock"], BENCH_PGPORT=vol["mport"],
                  BENCH_MARKS=marks, BENCH_PYTHON=f"{VENV}/bin/python",
                  SECRET_KEY="benchmark-only-secret-key-" + "x" * 30)
    inst = Subject(["bash", MATHESAR_RUN, *gunicorn(port)], env, vol["dir"] / "mathesar.log", cwd=STANDIN)
    try:
        ms = first_answer(inst, port, timeout)
    finally:
        # the daemonized server first (a clean shutdown), then gunicorn
        stop_clean(ctx, "mathesar-image", inst, {"pgdata": vol["mpgdata"], "root": vol["dir"]})
    m = read_marks(marks)
    return {"ok": True, "ms": ms, "marks": {k: (v - inst.t0_wall) / 1e6 for k, v in m.items()}}


def boot_floor(ctx, vol, timeout):
    with PostgresServer(bindir=ctx.pgbin, data=vol["mpgdata"], port=vol["mport"]):
        port = free_port()
        env = app_env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=vol["mport"], POSTGRES_USER="postgres",
                      POSTGRES_PASSWORD="mathesar", POSTGRES_DB="mathesar_django",
                      SECRET_KEY="benchmark-only-secret-key-" + "x" * 30)
        inst = Subject(gunicorn(port), env, vol["dir"] / "floor.log", cwd=STANDIN)
        try:
            return {"ok": True, "ms": first_answer(inst, port, timeout)}
        finally:
            stop_subject(inst)


def new_volumes(ctx):
    d = ctx.fresh_dir("standin")
    vol = {"dir": d, "data": d / "volume", "run": d / "run", "mpgdata": d / "pgdata", "sock": d / "sock",
           "mport": free_port()}
    vol["data"].mkdir()
    return vol


def measure(ctx, rounds, timeout):
    samples = {k: [] for k in KINDS}
    errors = {}
    if not (VENV / "bin" / "gunicorn").exists():
        return {"unit": "ms", "samples": samples, "errors": {"all": f"{VENV} missing: run ./dev setup"}}
    template = None
    if ctx.ours_ok():
        try:
            template = prepare(ctx)
        except Exception as e:  # noqa: BLE001
            errors["ours"] = str(e)
    for i in range(rounds):
        vol = new_volumes(ctx)
        steps = [("ours_first", lambda: boot_ours(ctx, vol, template, timeout)),
                 ("mathesar_first", lambda: boot_mathesar(ctx, vol, timeout)),
                 ("ours_warm", lambda: boot_ours(ctx, vol, template, timeout)),
                 ("mathesar_warm", lambda: boot_mathesar(ctx, vol, timeout))]
        if i % 2:  # flip the pair order: each pair's second runs on a cache the first warmed
            steps = [steps[1], steps[0], steps[3], steps[2]]
        steps.append(("floor", lambda: boot_floor(ctx, vol, timeout)))
        for kind, run in steps:
            who = "ours" if kind.startswith("ours") else kind.split("_")[0]
            if who == "ours" and template is None:
                samples[kind].append({"ok": False, "error": errors.get("ours", "not run")})
                continue
            if who == "floor" and not samples["mathesar_first"][-1].get("ok"):
                samples[kind].append({"ok": False, "error": "no volume: Mathesar's first boot failed"})
                continue
            try:
                samples[kind].append(run())
            except Exception as e:  # noqa: BLE001
                samples[kind].append({"ok": False, "error": str(e)[:600]})
                errors.setdefault(who, str(e)[:600])
        log(f"standin round {i + 1}/{rounds}: " + ", ".join(
            f"{k}={samples[k][-1]['ms']:.0f} ms" if samples[k][-1].get("ok") else f"{k}=failed" for k in KINDS))
        shutil.rmtree(vol["dir"], ignore_errors=True)
    if template:
        shutil.rmtree(template, ignore_errors=True)
    return {"unit": "ms", "samples": samples, "errors": errors}


def series(fig, kind):
    return [r["ms"] if r.get("ok") else None for r in fig["samples"].get(kind, [])]


def pair_deltas(a, b):
    return [x - y for x, y in zip(a, b) if x is not None and y is not None]


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 9."""
    fig = results["figures"].get(KEY)
    if not fig:
        return [], []
    S = {k: series(fig, k) for k in KINDS}
    L = ["## 9. The Mathesar-shaped app: first and warm boot to the first HTTP answer", "",
         "The stand-in app (docker/standin: Mathesar 0.11's interface, 46 migrations, gunicorn with 2 workers). "
         "`ours` = mathesar-init, bundled PostgreSQL, first boot from the template `prepare` made (the image "
         "build, not timed), `MATHESAR_MIGRATE=changed`; `mathesar` = Mathesar's own image flow "
         "(bench/baselines/mathesar-run.sh: initdb, daemonized server, psql, `python -m mathesar.install` at "
         "every boot, exec gunicorn); `floor` = gunicorn alone on a database already up and migrated. "
         "ms from spawn to the first HTTP answer (any status).", "",
         "| boot | flow | median | min | max | n |", "|---|---|---:|---:|---:|---:|"]
    for kind in KINDS:
        s = summary(S[kind])
        boot, flow = ("first", kind[:-6]) if kind.endswith("_first") else (
            ("warm", kind[:-5]) if kind.endswith("_warm") else ("—", "floor"))
        L.append(f"| {boot} | {flow} | " + (" | ".join(fmt_ms(s[k], "ms") for k in ("median", "min", "max"))
                                           + f" | {s['n']}" if s else "n/a | | | 0") + " |")
    first_ratio = pair_ratios(S["ours_first"], S["mathesar_first"])
    warm_ratio = pair_ratios(S["ours_warm"], S["mathesar_warm"])
    first_over = pair_deltas(S["ours_first"], S["floor"])
    warm_over = pair_deltas(S["ours_warm"], S["floor"])
    L += ["", "Pair by pair (same round), median (min–max):", "",
          f"- first boot, ours / mathesar: {ratio_cell(first_ratio)}",
          f"- first boot, ours − floor: {delta_cell(first_over)}",
          f"- warm boot, ours / mathesar: {ratio_cell(warm_ratio)}",
          f"- warm boot, ours − floor: {delta_cell(warm_over)}", ""]
    for who, err in fig["errors"].items():
        L.append(f"- {who}: failed: {err}")
    if fig["errors"]:
        L.append("")
    targets = [
        target_line("9 first boot ours/mathesar <= 0.3 (pairwise median)", med(first_ratio), 0.3 if first_ratio else None,
                    fmt=lambda v: f"{v:.2f}x"),
        target_line("9 first boot <= floor + 150 ms (pairwise median of ours − floor)", med(first_over),
                    150 if first_over else None, "ms"),
        target_line("9 warm boot <= floor + 60 ms (pairwise median of ours − floor)", med(warm_over),
                    60 if warm_over else None, "ms"),
    ]
    L += ["Targets of this figure (pair by pair, in this run):", ""] + targets + [""]
    return L, targets


def delta_cell(d):
    if not d:
        return "n/a"
    return f"{fmt_ms(med(d), 'ms')} ({fmt_ms(min(d), 'ms')} – {fmt_ms(max(d), 'ms')})"


def median_sample(runs):
    ok = sorted((r for r in runs if r.get("ok")), key=lambda r: r["ms"])
    return ok[len(ok) // 2] if ok else None


def mathesar_segments(r):
    m, end = r.get("marks", {}), r["ms"]
    segs, prev = [], 0.0
    for label, key in (("entrypoint setup", "initdb_begin"), ("initdb", "initdb_end"),
                       ("server start (pg_ctl -w)", "db_started"), ("provisioning (psql)", "provisioned"),
                       ("python -m mathesar.install", "migrated")):
        if key in m and m[key] >= prev:
            segs.append((label, prev, m[key]))
            prev = m[key]
    segs.append(("app -> HTTP answer", prev, end))
    return segs


def chart_rows(results, ours_segments):
    """Rows of the chart's stand-in panel: (label, [(segment, start ms, end ms)], app started ms or None).
    ours_segments(sample) lays out ours' log phases (figure 1's)."""
    fig = results["figures"].get(KEY)
    if not fig:
        return []
    rows = []
    for kind, label in (("ours_first", "ours, first boot"), ("mathesar_first", "mathesar, first boot"),
                        ("ours_warm", "ours, warm boot"), ("mathesar_warm", "mathesar, warm boot"),
                        ("floor", "floor (gunicorn alone)")):
        r = median_sample(fig["samples"].get(kind, []))
        if not r:
            continue
        if kind.startswith("ours"):
            segs = ours_segments({"log_phases": r.get("log_phases", []), "marks": {"http_200": r["ms"]}})
            segs = [(s.replace("app -> HTTP 200", "app -> HTTP answer"), a, b) for s, a, b in segs]
            started = next((b for s, a, b in segs if s.startswith("ours: app")), None)
        elif kind.startswith("mathesar"):
            segs = mathesar_segments(r)
            started = r.get("marks", {}).get("migrated")
        else:
            segs, started = [("app -> HTTP answer", 0.0, r["ms"])], 0.0
        rows.append((label, segs, started))
    return rows
