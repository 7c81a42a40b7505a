#!/usr/bin/env python3
"""Benchmarks mathesar-init against its peers, side by side, in one run.

    bench/setup.sh                    # once: peers, PostgreSQL 15, helpers, matplotlib
    python3 bench/run.py              # full run (< 10 min) -> bench/RESULTS.md,
                                      #   bench/results.json, bench/boot-timeline.png
    python3 bench/run.py --smoke      # 1 iteration each, a few seconds of idleness;
                                      #   writes under bench/out/smoke/ (CI runs this)
    python3 bench/run.py --ours PATH  # point it at another mathesar-init binary
    python3 bench/run.py --only 1,2   # some figures only

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

mathesar-init failing never stops the run: its rows say "failed: <reason>".
Python 3 standard library only; matplotlib only for the chart (skipped without it).
"""
import argparse
import datetime
import json
import os
import platform
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
BENCHKIT = OUT / "benchkit"
DEMO_APP = HERE / "helpers" / "demo_app.py"
PG_IMAGE = HERE / "baselines" / "postgres-image.sh"
MATHESAR_IMAGE = HERE / "baselines" / "mathesar-image.sh"
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
PEERS = ["tini", "tini-static", "dumb-init", "catatonit", "supervisord"]
FLOWS_FIRST = ["postgres-image", "mathesar-image", "ours"]
FLOWS_WARM = ["postgres-image", "bare-postgres", "mathesar-image", "ours"]
# Env names that must not leak from the caller into a subject.
SCRUB = re.compile(r"^(POSTGRES_|MATHESAR_|PG[A-Z]+$|SECRET_KEY)")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ms(ns):
    return None if ns is None else ns / 1e6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env():
    env = {k: v for k, v in os.environ.items() if not SCRUB.match(k)}
    env["LANG"] = "C.UTF-8"
    env.pop("LC_ALL", None)
    return env


def read_marks(path):
    marks = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    marks.setdefault(parts[0], int(parts[1]))
    except FileNotFoundError:
        pass
    return marks


def read_num(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def wait_for(pred, timeout, interval=0.0005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def tail(path, n=6):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
        return " | ".join(lines[-n:])
    except FileNotFoundError:
        return ""


# --------------------------------------------------------------------------
# Probes: PostgreSQL's "accepting connections" (what pg_isready asks) and HTTP.

def pg_ping(port, user, db):
    """True when the server answers a startup packet with anything but
    57P03 (cannot_connect_now: starting up / shutting down)."""
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", user), ("database", db))) + b"\0"
        s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
        data = s.recv(4096)
        if data[:1] == b"R":
            return True
        if data[:1] == b"E":
            m = re.search(rb"C([0-9A-Z]{5})\0", data)
            return bool(m) and m.group(1) != b"57P03"
        return False
    except OSError:
        return False
    finally:
        s.close()


def http_ok(port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        return s.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:
        return False
    finally:
        s.close()


# --------------------------------------------------------------------------
# /proc helpers

def proc_children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] = state (field 3); utime = field 14, stime = field 15
    return {"comm": comm, "ppid": int(rest[1]), "utime": int(rest[11]), "stime": int(rest[12])}


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, PermissionError):
        return None
    return None


def descendants(root):
    """All processes under root (host pids), as {pid: (ppid, comm)}."""
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = proc_stat(int(d))
                table[int(d)] = (st["ppid"], st["comm"])
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
    out, frontier = {}, {root}
    while frontier:
        nxt = set()
        for pid, (ppid, comm) in table.items():
            if ppid in frontier and pid not in out:
                out[pid] = (ppid, comm)
                nxt.add(pid)
        frontier = nxt
    return out


def controldata_state(pgdata, pgbin):
    try:
        r = subprocess.run([f"{pgbin}/pg_controldata", str(pgdata)], capture_output=True, text=True, timeout=10,
                           env={**base_env(), "LC_ALL": "C"})
        m = re.search(r"Database cluster state:\s*(.+)", r.stdout)
        return m.group(1).strip() if m else f"unknown ({r.stderr.strip()[:80]})"
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


# --------------------------------------------------------------------------
# One subject as PID 1 in a new PID namespace.

LIVE = set()  # instances not yet closed, killed on the way out


class Pid1:
    def __init__(self, argv, env, logfile, capture_lines=False):
        self.logfile = logfile
        self.lines = []  # (epoch ns at arrival, text) when capture_lines
        self._logf = open(logfile, "ab")
        self.t0_wall = time.time_ns()
        self.t0_mono = time.monotonic_ns()
        self.p = subprocess.Popen(
            UNSHARE + [str(a) for a in argv], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_lines else self._logf, stderr=subprocess.STDOUT,
            start_new_session=True)
        LIVE.add(self)
        self._reader = None
        if capture_lines:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        self._pid1 = None

    def _read(self):
        for raw in self.p.stdout:
            t = time.time_ns()
            self._logf.write(raw)
            self._logf.flush()
            self.lines.append((t, raw.decode(errors="replace").rstrip("\n")))

    @property
    def pid1(self):
        """Host pid of the namespace's PID 1 (unshare's only child)."""
        if self._pid1 is None:
            kids = wait_for(lambda: proc_children(self.p.pid) or self.p.poll() is not None, 5)
            if not isinstance(kids, list) or not kids:
                return None
            self._pid1 = kids[0]
        return self._pid1

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        pid = self.pid1
        if pid:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        try:
            self.p.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        if self.alive():
            self.signal(signal.SIGKILL)
            if not self.wait(10):
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.close()

    def close(self):
        LIVE.discard(self)
        if self._reader:
            self._reader.join(2)
        self._logf.close()


# --------------------------------------------------------------------------
# Subjects

class Ctx:
    def __init__(self, args):
        self.args = args
        self.pgbin = args.pgbin
        self.work = Path(args.workdir)
        self.ours = Path(args.ours).absolute()
        self.ours_error = None
        self.ours_env = dict(kv.split("=", 1) for kv in args.ours_env)
        self.extdb = None
        self.extdb_error = None
        self.counter = 0

    def fresh_dir(self, name):
        self.counter += 1
        d = self.work / f"{self.counter:04d}-{name}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def ours_ok(self):
        return self.ours_error is None


def init_prefix(name, ctx, d, child):
    """argv that runs `child` under init `name` as PID 1 (host pids unknown yet)."""
    if name in ("direct", "own-children"):
        return list(child)
    if name in ("tini", "tini-static"):
        return [name, "--", *child]
    if name == "dumb-init":
        return ["dumb-init", *child]
    if name == "catatonit":
        return ["catatonit", "--", *child]
    if name == "supervisord":
        conf = d / "supervisord.conf"
        conf.write_text(f"""[supervisord]
nodaemon=true
user=root
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}

[program:app]
command={shlex.join(str(c) for c in child)}
autostart=true
autorestart=false
startsecs=0
startretries=0
stopsignal=TERM
stopwaitsecs=10
redirect_stderr=true
stdout_logfile={d}/app.log
""")
        return ["supervisord", "-n", "-c", str(conf)]
    if name == "ours":
        return [str(ctx.ours), "run", "--", *child]
    raise ValueError(name)


def ours_external_env(ctx, d):
    """mathesar-init against an already running external server (figures 6-8),
    so that these figures measure the init itself, not a database boot."""
    env = base_env()
    env.update(
        MATHESAR_DATA_DIR=str(d / "data"), MATHESAR_RUN_DIR=str(d / "run"), MATHESAR_PG_BINDIR=ctx.pgbin,
        MATHESAR_RESTART="never", POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(ctx.extdb["port"]),
        POSTGRES_USER="mathesar", POSTGRES_PASSWORD=ctx.extdb["password"], POSTGRES_DB="mathesar_django",
        POSTGRES_SSLMODE="disable",
    )
    env.update(ctx.ours_env)
    return env


def ours_bundled_env(ctx, vol, port):
    env = base_env()
    env.update(
        MATHESAR_DATA_DIR=str(vol["data"]), MATHESAR_RUN_DIR=str(vol["run"]), MATHESAR_PG_BINDIR=ctx.pgbin,
        MATHESAR_RESTART="never", MATHESAR_LOG_FORMAT="json", POSTGRES_PORT=str(port),
    )
    env.update(ctx.ours_env)
    return env


def subject_env(name, ctx, d):
    if name == "ours":
        return ours_external_env(ctx, d)
    env = base_env()
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    return env


def stop_instance(inst, timeout=10):
    """End an instance: SIGTERM to PID 1, then SIGKILL."""
    if inst.alive():
        inst.signal(signal.SIGTERM)
        if not inst.wait(timeout):
            inst.kill()
            return
    inst.close()


# --------------------------------------------------------------------------
# External database for ours in figures 6-8 (a plain background postgres).

def start_extdb(ctx):
    d = ctx.fresh_dir("extdb")
    os.chown(d, pwd.getpwnam("postgres").pw_uid, -1)
    port, pw = free_port(), "bench-password"
    pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    env = base_env()
    pwfile = d / "pw"
    pwfile.write_text(pw + "\n")
    os.chmod(pwfile, 0o644)
    subprocess.run(pg + [f"{ctx.pgbin}/initdb", "-D", f"{d}/data", "-U", "postgres", "-A", "trust",
                         "--auth-host=scram-sha-256", "-N"], env=env, check=True, capture_output=True)
    subprocess.run(pg + [f"{ctx.pgbin}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/log", "-w", "start", "-o",
                         f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off"], env=env, check=True,
                   capture_output=True)
    sql = (f"CREATE ROLE mathesar LOGIN SUPERUSER PASSWORD '{pw}';"
           "CREATE DATABASE mathesar_django OWNER mathesar;")
    subprocess.run(pg + [f"{ctx.pgbin}/psql", "-X", "-q", "-h", str(d), "-p", str(port), "-U", "postgres",
                         "-d", "postgres", "-c", sql.split(";")[0], "-c", sql.split(";")[1]],
                   env=env, check=True, capture_output=True)
    ctx.extdb = {"dir": d, "port": port, "password": pw}


def stop_extdb(ctx):
    if ctx.extdb:
        subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                        f"{ctx.pgbin}/pg_ctl", "-D", f"{ctx.extdb['dir']}/data", "-m", "fast", "-w", "stop"],
                       capture_output=True)
        ctx.extdb = None


# --------------------------------------------------------------------------
# Figures 6, 7, 8: the init alone, with a tiny C child.

def subjects_small(ctx, with_direct, kind):
    names = (["direct"] if with_direct else []) + (["own-children"] if kind == "reap" else []) + [
        p for p in PEERS if ctx.available.get(p)]
    if ctx.ours_ok() and ctx.extdb:
        names.append("ours")
    return names


def run_small(ctx, name, kind, timeout, zombies=None):
    """One sample of figure 6 ('signal'), 7 ('reap') or 8 ('start'). Returns ns."""
    d = ctx.fresh_dir(f"{kind}-{name}")
    env = subject_env(name, ctx, d)
    if kind == "start":
        child = [BENCHKIT, "stamp", d / "stamp"]
    elif kind == "signal":
        child = [BENCHKIT, "trap", d / "ready", d / "handled"]
    elif kind == "reap":
        mode = {"direct": "floor", "own-children": "own"}.get(name, "zombies")
        child = [BENCHKIT, mode, zombies or ctx.args.zombies, d / "reaped"]
    argv = init_prefix(name, ctx, d, child)
    inst = Pid1(argv, env, d / "log")

    def until(path):
        """Wait for a number in path; stop early when PID 1 died without it."""
        v = wait_for(lambda: read_num(path) or (not inst.alive() and "dead"), timeout, interval=0.0002)
        if v == "dead":
            v = read_num(path)
            if v is None:
                raise RuntimeError(f"PID 1 exited with {inst.p.returncode}: {tail(d / 'log')}")
        return v

    try:
        if kind == "start":
            v = until(d / "stamp")
            if v is None:
                raise RuntimeError(f"child never ran: {tail(d / 'log')}")
            return v - inst.t0_mono
        if kind == "reap":
            v = until(d / "reaped")
            if v is None:
                raise RuntimeError(f"zombies not reaped in {timeout} s: {tail(d / 'log')}")
            return v
        # signal
        if not until(d / "ready"):
            raise RuntimeError(f"child never became ready: {tail(d / 'log')}")
        time.sleep(0.05)  # let PID 1 settle into its wait
        pid1 = inst.pid1
        t0 = time.monotonic_ns()
        os.kill(pid1, signal.SIGTERM)
        v = wait_for(lambda: read_num(d / "handled"), timeout, interval=0.001)
        if v is None:
            raise RuntimeError("SIGTERM not forwarded to the child")
        inst.wait(timeout)
        return v - t0
    finally:
        stop_instance(inst, 5)
        shutil.rmtree(d, ignore_errors=True)


def fig_small(ctx, kind, rounds, title, budget_s=30):
    """Rounds of one sample per subject, in a new random order each round. A
    subject whose samples took more than budget_s in all (supervisord reaps 100
    zombies a second) gets no more samples after that (at least one)."""
    with_direct = kind in ("start", "signal", "reap")
    names = subjects_small(ctx, with_direct, kind)
    samples = {n: [] for n in names}
    spent = {n: 0.0 for n in names}
    errors = {}
    # one unmeasured warm-up each: page cache, supervisord's imports; a subject
    # that fails here is not tried again in this figure
    for n in names:
        try:
            run_small(ctx, n, kind, 30, zombies=50)
        except Exception as e:  # noqa: BLE001
            errors[n] = str(e)
    for _ in range(rounds):
        order = names[:]
        random.shuffle(order)
        for n in order:
            if n in errors or (spent[n] > budget_s and vals(samples[n])):
                samples[n].append(None)
                continue
            t = time.monotonic()
            try:
                samples[n].append(run_small(ctx, n, kind, 60))
            except Exception as e:  # noqa: BLE001
                errors[n] = str(e)
                samples[n].append(None)
            spent[n] += time.monotonic() - t
    if ctx.ours_ok() and not ctx.extdb:
        errors["ours"] = ctx.extdb_error or "no external database"
    log(f"{title}: " + ", ".join(f"{n}={fmt_ms(med(v))}" for n, v in samples.items()))
    return {"unit": "ns", "samples": samples, "errors": errors}


# --------------------------------------------------------------------------
# Figures 1, 2, 3: the database flows.

def new_volume(ctx, flow):
    d = ctx.fresh_dir(f"vol-{flow}")
    vol = {"dir": d, "data": d / "volume", "run": d / "run", "root": d / "root",
           "port": free_port(), "http": free_port(), "flow": flow}
    vol["data"].mkdir()  # an empty Docker volume
    vol["pgdata"] = vol["data"] / "postgres"
    return vol


def flow_argv_env(ctx, flow, vol, marks, app):
    """argv and env that boot `flow` on `vol` as PID 1; app = 'demo' or 'stamp'."""
    if app == "demo":
        app_cmd = [sys.executable, DEMO_APP, marks, vol["http"]]
    else:
        app_cmd = [BENCHKIT, "stamp", vol["dir"] / "app-stamp", "pause"]
    env = base_env()
    env.update(PGBIN=ctx.pgbin, PGDATA=str(vol["pgdata"]), BENCH_PGPORT=str(vol["port"]),
               BENCH_SOCKDIR=str(vol["run"]), BENCH_MARKS=str(marks), BENCH_ROOT=str(vol["root"]))
    if flow == "postgres-image":
        env.update(POSTGRES_USER="mathesar", POSTGRES_PASSWORD="bench-password", POSTGRES_DB="mathesar_django")
        return ["bash", PG_IMAGE, "postgres"], env
    if flow == "bare-postgres":
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", f"{ctx.pgbin}/postgres",
                "-D", vol["pgdata"], "-p", vol["port"], "-k", vol["run"], "-c", "listen_addresses=127.0.0.1"], env
    if flow == "mathesar-image":
        env.update(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(vol["port"]), POSTGRES_USER="postgres",
                   POSTGRES_PASSWORD="mathesar", POSTGRES_DB="mathesar_django", POSTGRES_SSLMODE="disable")
        return ["bash", MATHESAR_IMAGE, *app_cmd], env
    if flow == "ours":
        return [ctx.ours, "run", "--", *app_cmd], ours_bundled_env(ctx, vol, vol["port"])
    raise ValueError(flow)


PG_USER = {"postgres-image": ("mathesar", "mathesar_django"), "bare-postgres": ("mathesar", "mathesar_django"),
           "mathesar-image": ("postgres", "mathesar_django"), "ours": ("mathesar", "mathesar_django")}
# The probe starts only after this mark: the temporary server of the
# mathesar-image flow listens on TCP too and must not count as "ready".
PING_AFTER = {"mathesar-image": "final_start", "postgres-image": "final_exec"}


def boot(ctx, flow, vol, app, want_http, timeout):
    """Boot a flow; return (inst, result). result has times in ms from spawn."""
    marks = vol["dir"] / f"marks-{time.monotonic_ns()}"
    marks.touch()
    os.chmod(marks, 0o666)
    argv, env = flow_argv_env(ctx, flow, vol, marks, app)
    stamp = vol["dir"] / "app-stamp"
    if stamp.exists():
        stamp.unlink()
    status = vol["run"] / "status.json"
    user, db = PG_USER[flow]
    inst = Pid1(argv, env, vol["dir"] / f"{flow}.log", capture_lines=(flow == "ours"))
    t0 = inst.t0_wall
    res = {"ok": False, "error": None}
    db_ready = http200 = running = None
    after = PING_AFTER.get(flow)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.time_ns()
        if not inst.alive():
            res["error"] = f"PID 1 exited with {inst.p.returncode}: {tail(inst.logfile)}"
            break
        m = read_marks(marks) if (after or flow == "postgres-image" or app == "demo") else {}
        if db_ready is None and (after is None or after in m) and pg_ping(vol["port"], user, db):
            db_ready = time.time_ns()
        if flow == "ours" and running is None:
            try:
                if json.loads(status.read_text()).get("phase") == "running":
                    running = now
            except (OSError, ValueError, AttributeError):
                pass
        if want_http and http200 is None and "http_listen" in m and http_ok(vol["http"]):
            http200 = time.time_ns()
        app_started = flow in ("postgres-image", "bare-postgres") or (
            ("app_start" in m) if app == "demo" else stamp.exists())
        if db_ready and app_started and (http200 or not want_http or flow == "postgres-image"):
            res["ok"] = True
            break
        time.sleep(0.001)
    else:
        res["error"] = f"not ready in {timeout} s: {tail(inst.logfile)}"
    m = read_marks(marks)
    if app != "demo" and stamp.exists():
        # the stamp is CLOCK_MONOTONIC: convert with the spawn's pair of clocks
        m["app_start"] = read_num(stamp) - inst.t0_mono + inst.t0_wall
    rel = {k: (v - t0) / 1e6 for k, v in m.items()}
    if db_ready:
        rel["db_ready"] = (db_ready - t0) / 1e6
    if http200:
        rel["http_200"] = (http200 - t0) / 1e6
    if running:
        rel["status_running"] = (running - t0) / 1e6
    res["marks"] = dict(sorted(rel.items(), key=lambda kv: kv[1]))
    if flow == "ours":
        res["log_phases"] = parse_phase_lines(inst.lines, t0)
    ready_keys = ["db_ready"] + ([] if flow in ("postgres-image", "bare-postgres") else ["app_start"])
    if res["ok"]:
        res["ready"] = max(rel[k] for k in ready_keys if k in rel)
    return inst, res


DUR = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s)\b")
TRAILING_DUR = re.compile(r"\((\d+(?:\.\d+)?)\s*(ms|s)\)\s*$")
SUB_DUR = re.compile(r"([A-Za-z][\w .-]*?) in (\d+(?:\.\d+)?)\s*(ms|s)\b")


def to_ms(num, unit):
    return float(num) * (1 if unit == "ms" else 1000)


def parse_phase_lines(lines, t0):
    """Lines of mathesar-init's own log that carry a duration: its boot phases.
    Preferred form: "<phase>: <details> (<N ms|N s>)"; a "<what> in <N s>" inside
    the details becomes a sub-phase (e.g. the initdb inside "database")."""
    phases = []
    for t, text in lines:
        source, msg = None, text
        if text.startswith("{"):
            try:
                obj = json.loads(text)
                source, msg = obj.get("source"), str(obj.get("message", ""))
                # its own timestamp beats the arrival time through the pipe
                stamp = datetime.datetime.fromisoformat(str(obj["time"]).replace("Z", "+00:00"))
                t = int(stamp.timestamp() * 1e9)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        if source in ("postgres", "app", "migrate"):
            continue
        if source is None:
            if re.match(r"^\S*\s*\[?(postgres|app|migrate)\b", text):
                continue
            msg = re.sub(r"^\s*\d{4}-\d\d-\d\d[T ][\d:.]+\S*\s*", "", msg)
            msg = re.sub(r"\b(level|source)=\S+\s*", "", msg)
        m = TRAILING_DUR.search(msg)
        subs = []
        if m:
            body = msg[:m.start()]
            head, sep, rest = body.partition(": ")
            label = head.strip() if sep and len(head) <= 32 else body.strip()
            for sm in SUB_DUR.finditer(rest if sep else body):
                words = sm.group(1).strip()
                subs.append({"label": f"{label}: {words[-32:]}", "duration_ms": to_ms(sm.group(2), sm.group(3))})
        else:
            m = DUR.search(msg)
            if not m:
                continue
            label = re.sub(r"(\s*(\b(in|took|after|done|finished|ended|duration|of)\b|[(=:,\-]))*\s*$", "",
                           msg[:m.start()], flags=re.I).strip() or "phase"
        phases.append({"end_ms": (t - t0) / 1e6, "label": label[-48:], "duration_ms": to_ms(m.group(1), m.group(2)),
                       "subphases": subs, "line": text[:400]})
    return phases


def find_postmaster(inst):
    pid1 = inst.pid1
    procs = descendants(pid1) if pid1 else {}
    if pid1:
        try:
            procs[pid1] = (0, proc_stat(pid1)["comm"])
        except FileNotFoundError:
            pass
    for pid, (ppid, comm) in procs.items():
        if comm == "postgres" and procs.get(ppid, (0, ""))[1] != "postgres":
            return pid
    return None


def stop_clean(ctx, flow, inst, vol):
    """Stop a booted flow leaving a cleanly shut down cluster (not measured)."""
    if not inst.alive():
        inst.close()
        return
    if flow in ("postgres-image", "bare-postgres"):
        inst.signal(signal.SIGINT)
        if inst.wait(15):
            inst.close()
            return
    elif flow == "mathesar-image":
        pm = find_postmaster(inst)
        if pm:
            os.kill(pm, signal.SIGINT)
            wait_for(lambda: not os.path.exists(f"/proc/{pm}"), 15, 0.002)
    elif flow == "ours":
        inst.signal(signal.SIGTERM)
        if inst.wait(15):
            inst.close()
            return
    inst.kill()
    repair_volume(ctx, flow, vol)


def repair_volume(ctx, flow, vol):
    """After a SIGKILL: run the cluster's crash recovery once, stop it cleanly."""
    pgdata = vol["pgdata"]
    if not (pgdata / "PG_VERSION").exists() or controldata_state(pgdata, ctx.pgbin) == "shut down":
        return
    pid = pgdata / "postmaster.pid"
    if pid.exists():
        pid.unlink()
    rdir = vol["dir"] / "repair"
    rdir.mkdir(exist_ok=True)
    os.chown(rdir, pwd.getpwnam("postgres").pw_uid, -1)
    opts = f"-p {free_port()} -k {rdir} -c listen_addresses=''"
    conf = vol["root"] / "etc/postgresql/15/mathesar/postgresql.conf"
    if conf.exists():
        opts += f" -c config_file={conf}"
    pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    subprocess.run(pg + [f"{ctx.pgbin}/pg_ctl", "-D", str(pgdata), "-o", opts, "-w", "-l", f"{rdir}/log",
                         "start"], capture_output=True, env=base_env())
    subprocess.run(pg + [f"{ctx.pgbin}/pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop"], capture_output=True,
                   env=base_env())


def fig_first_boot(ctx, rounds, timeout):
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


def settle():
    """Flush the page cache's dirty pages (initdb's, deleted volumes') so that
    their writeback does not land in the next figure's samples."""
    os.sync()
    time.sleep(0.5)


def fig_warm_and_stop(ctx, keep, rounds, timeout):
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
    docker_stops = 0
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
            # figure 3: the stack is idle; stop it as Docker would
            time.sleep(0.2)
            if flow == "mathesar-image" and docker_stops >= ctx.args.docker_stop_samples:
                stop[flow].append(None)
                stop_clean(ctx, flow, inst, vol)
                continue
            sig = signal.SIGTERM if flow == "ours" else signal.SIGINT  # the images' STOPSIGNAL
            grace = ctx.args.docker_stop_timeout
            t0 = time.monotonic_ns()
            inst.signal(sig)
            exited = inst.wait(grace)
            t1 = time.monotonic_ns()
            killed = False
            if not exited:
                killed = True
                inst.kill()
                t1 = time.monotonic_ns()
            else:
                inst.close()
            state = controldata_state(vol["pgdata"], ctx.pgbin)
            s = {"ok": not killed, "ms": (t1 - t0) / 1e6, "signal": signal.Signals(sig).name,
                 "sigkill_after_s": grace if killed else None, "cluster_state": state}
            if flow == "mathesar-image":
                docker_stops += 1
            stop[flow].append(s)
            if state != "shut down":
                repair_volume(ctx, flow, vol)
        log(f"warm boot round {i + 1}/{rounds}: " + ", ".join(
            f"{f}={warm[f][-1].get('ready', float('nan')):.0f} ms" for f in order if warm[f]))
    return {"unit": "ms", "samples": warm, "errors": errors}, {"unit": "ms", "samples": stop, "errors": errors}


# --------------------------------------------------------------------------
# Figures 4 and 5: every subject at once, booted, then one idle window.

def fig_memory_idle(ctx, idle_s, timeout):
    subs = {}
    for name in [p for p in PEERS if ctx.available.get(p)] + ["ours", "postgres-image", "mathesar-image"]:
        if name == "ours" and not ctx.ours_ok():
            continue
        try:
            if name in PEERS:
                d = ctx.fresh_dir(f"idle-{name}")
                child = [BENCHKIT, "stamp", d / "stamp", "pause"]
                inst = Pid1(init_prefix(name, ctx, d, child), subject_env(name, ctx, d), d / "log")
                subs[name] = {"inst": inst, "ready": lambda d=d: (d / "stamp").exists()}
            else:
                vol = new_volume(ctx, name)
                marks = vol["dir"] / "marks"
                marks.touch()
                os.chmod(marks, 0o666)
                argv, env = flow_argv_env(ctx, name, vol, marks, "stamp")
                inst = Pid1(argv, env, vol["dir"] / "log")
                user, db = PG_USER[name]
                if name == "postgres-image":
                    ready = (lambda vol=vol, marks=marks, u=user, b=db:
                             "final_exec" in read_marks(marks) and pg_ping(vol["port"], u, b))
                else:
                    ready = lambda vol=vol: (vol["dir"] / "app-stamp").exists()
                subs[name] = {"inst": inst, "ready": ready, "vol": vol}
        except Exception as e:  # noqa: BLE001
            subs[name] = {"error": str(e)}
    deadline = time.monotonic() + timeout
    for name, s in subs.items():
        if "inst" not in s:
            continue
        while time.monotonic() < deadline and s["inst"].alive() and not s["ready"]():
            time.sleep(0.01)
        if not s["ready"]():
            s["error"] = f"not booted: {tail(s['inst'].logfile)}"
    time.sleep(2)  # settle: first checkpoints, the app's own start
    mem, idle = {}, {}
    for name, s in subs.items():
        if "error" in s:
            continue
        pid = s["inst"].pid1
        st = proc_status(pid)
        ps = proc_stat(pid)
        mem[name] = {"comm": ps["comm"], "vmrss_kib": int(st["VmRSS"].split()[0]), "pss_kib": proc_pss_kib(pid),
                     "rss_anon_kib": int(st.get("RssAnon", "0 kB").split()[0]),
                     "rss_file_kib": int(st.get("RssFile", "0 kB").split()[0])}
        s["before"] = (int(st["voluntary_ctxt_switches"]), int(st["nonvoluntary_ctxt_switches"]),
                       ps["utime"] + ps["stime"])
    log(f"memory: " + ", ".join(f"{n}={v['vmrss_kib']} KiB" for n, v in mem.items()) + f"; idle {idle_s} s ...")
    time.sleep(idle_s)
    for name, s in subs.items():
        if "before" not in s:
            continue
        pid = s["inst"].pid1
        st, ps = proc_status(pid), proc_stat(pid)
        after = (int(st["voluntary_ctxt_switches"]), int(st["nonvoluntary_ctxt_switches"]), ps["utime"] + ps["stime"])
        idle[name] = {"voluntary_ctxt_switches": after[0] - s["before"][0],
                      "nonvoluntary_ctxt_switches": after[1] - s["before"][1],
                      "cpu_ticks": after[2] - s["before"][2], "window_s": idle_s, "clk_tck": CLK_TCK}
        mem[name]["vmrss_kib_end"] = int(st["VmRSS"].split()[0])
    for name, s in subs.items():
        if "inst" in s:
            if "vol" in s:
                stop_clean(ctx, name, s["inst"], s["vol"])
                shutil.rmtree(s["vol"]["dir"], ignore_errors=True)
            else:
                stop_instance(s["inst"], 5)
    errors = {n: s["error"] for n, s in subs.items() if "error" in s}
    log("idle: " + ", ".join(f"{n}={v['voluntary_ctxt_switches']} csw/{v['cpu_ticks']} ticks" for n, v in idle.items()))
    return {"memory": mem, "idle": idle, "errors": errors}


# --------------------------------------------------------------------------
# Statistics and report

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
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install -r bench/requirements.txt): chart skipped"
    fb = results["figures"].get("1_first_boot")
    if not fb:
        return "figure 1 not run: chart skipped"
    rows = []
    for flow in ["ours", "mathesar-image", "postgres-image"]:
        runs = fb["samples"].get(flow)
        r = median_run(runs) if runs else None
        if r:
            rows.append((flow, r, phase_segments(flow, r)))
    if not rows:
        return "no successful first boot: chart skipped"
    palette = {"entrypoint setup": "#bbbbbb", "initdb": "#4c72b0", "configuration": "#64b5cd",
               "temp server start": "#dd8452",
               "provisioning (psql)": "#55a868", "temp server stop": "#c44e52",
               "final start -> DB ready": "#8172b3", "final start (no wait)": "#8172b3",
               "app start": "#937860", "app waits for DB": "#da8bc3", "app -> HTTP 200": "#8c8c8c"}
    extra = ["#ccb974", "#2a9d8f", "#e76f51", "#264653", "#f4a261", "#9b5de5", "#00bbf9"]
    fig, ax = plt.subplots(figsize=(11, 1.2 + 1.1 * len(rows)))
    seen = {}
    for y, (flow, r, segs) in enumerate(rows):
        for label, a, b in segs:
            if label not in palette:
                if re.search(r"cluster|initdb", label, re.I):
                    palette[label] = "#8fb0e8"  # ours' initdb: the baselines' initdb blue, lighter
                else:
                    palette[label] = extra[len([k for k in palette if k.startswith("ours:")]) % len(extra)]
            ax.broken_barh([(a, max(b - a, 0.5))], (y - 0.35, 0.7), facecolors=palette[label],
                           label=None if label in seen else label, edgecolor="white", linewidth=0.5)
            seen[label] = True
        for key, style in (("db_ready", "k|"), ("app_start", "kx")):
            if key in r["marks"]:
                ax.plot([r["marks"][key]], [y], style, markersize=12)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{f}\n(median run)" for f, _, _ in rows])
    ax.set_xlabel("ms since spawn (| = DB accepting connections, x = app started)")
    ax.set_title("First boot, empty volume: boot timeline per phase")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return None


def target_line(name, value, limit, unit="ms", fmt=None):
    if value is None or limit is None:
        return f"- {name}: n/a (not measured)"
    met = value <= limit
    f = fmt or (lambda v: fmt_ms(v, unit))
    return f"- {name}: {'MET' if met else 'MISSED'} — ours {f(value)} vs limit {f(limit)}"


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
    F = results["figures"]
    meta = results["meta"]
    ours_fail = meta.get("ours_error")
    fails = ours_failures(results)
    L = [f"# mathesar-init benchmarks ({meta['mode']} run)", "",
         f"Date: {meta['date']} · run time {meta['duration_s']:.0f} s · command: `{meta['command']}`", "",
         "Machine: " + ", ".join(f"{k} {v}" for k, v in meta["machine"].items()), "",
         "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
         "Every subject runs as PID 1 under `unshare --pid --fork --mount-proc`. `ours/this` is the median of "
         "the ratios ours/peer taken pair by pair (same round); absolute times move ±50% between runs here.", ""]
    if fails:
        L += ["**ours: failed:** " + "; ".join(f"{k}: {v}" for k, v in fails.items()), ""]
    targets = []

    fb = F.get("1_first_boot")
    if fb:
        S = fb["samples"]
        L += ["## 1. First boot (empty volume)", "",
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
        targets.append(target_line("1 first boot <= postgres-image initdb + 100 ms", ours_ready,
                                   None if initdb is None else initdb + 100, "ms"))
        if chart_note:
            L += [f"Chart: {chart_note}", ""]
        else:
            L += [f"![boot timeline]({chart_name})", ""]

    wb = F.get("2_warm_boot")
    if wb:
        sub = {f: [r.get("ready") if r.get("ok") else None for r in runs] for f, runs in wb["samples"].items()}
        L += ["## 2. Warm boot (existing volume -> ready)", "",
              "Ready = DB accepting connections on 127.0.0.1, and for flows with an app (here a C child that "
              "stamps its start) the app started.", "",
              timing_table(sub, "ms", failed=wb["errors"].get("ours") or ours_fail, label="flow"), ""]
        bare = med(sub.get("bare-postgres", []))
        targets.append(target_line("2 warm boot <= bare postgres + 10 ms", med(sub.get("ours", [])),
                                   None if bare is None else bare + 10, "ms"))

    st = F.get("3_stop")
    if st:
        L += ["## 3. Stop (stop signal to PID 1 -> PID 1 exited)", "",
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
        targets.append(target_line("3 stop <= app exit (~0: the C child dies on SIGTERM) + PG fast shutdown "
                                   "(bare postgres) + 10 ms", med(ours), None if bare is None else bare + 10, "ms"))

    mi = F.get("4_5_memory_idle")
    if mi:
        mem, idle = mi["memory"], mi["idle"]
        L += ["## 4. PID 1 memory after boot", "",
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
        targets.append(target_line("4 PID 1 memory <= 4 MiB (VmRSS)", o["vmrss_kib"] if o else None, 4096,
                                   fmt=lambda v: f"{v} KiB"))
        w = next(iter(idle.values()))["window_s"] if idle else 0
        L += [f"## 5. PID 1 idle wake-ups over {w} s", "",
              "| PID 1 of | voluntary ctxt switches | involuntary | CPU ticks (utime+stime, 1/"
              f"{CLK_TCK} s) |", "|---|---:|---:|---:|"]
        for n, v in idle.items():
            L.append(f"| {n} | {v['voluntary_ctxt_switches']} | {v['nonvoluntary_ctxt_switches']} | "
                     f"{v['cpu_ticks']} |")
        L.append("")
        oi = idle.get("ours")
        targets.append(target_line("5 idle wake-ups = 0", oi["voluntary_ctxt_switches"] if oi else None, 0,
                                   fmt=lambda v: f"{v} switches"))

    for key, title, tname, limit in (
            ("6_signal", "## 6. Signal forwarding (SIGTERM to PID 1 -> trapping child's handler ran)",
             "6 signal forwarding <= 0.5 ms", 0.5e6),
            ("7_reap", f"## 7. Reaping {results['meta']['config']['zombies']} zombies handed to PID 1 at once\n\n"
                       "From the exit of the process that orphans them to none left. `direct` = the floor: the "
                       "same hand-over to a PID 1 that does nothing but `waitpid(-1)`; `own-children` = a parent "
                       "reaping its own zombie children, no hand-over (the kernel's re-parenting is not in it).",
             "7 reaping <= 1.1x floor (direct)", None),
            ("8_start", "## 8. Start -> child running (includes unshare; direct = the child as PID 1, no init)",
             "8 start -> child running <= 5 ms", 5e6)):
        f = F.get(key)
        if not f:
            continue
        L += [title, "", timing_table(f["samples"], "ns", failed=None if "ours" in f["errors"] else ours_fail), ""]
        for n, e in f["errors"].items():
            L.append(f"- {n}: failed: {e[:200]}")
        if f["errors"]:
            L.append("")
        o = med(f["samples"].get("ours", []))
        if key == "7_reap":
            floor = med(f["samples"].get("direct", []))
            targets.append(target_line(tname, o, None if floor is None else floor * 1.1, "ns"))
        else:
            targets.append(target_line(tname, o, limit, "ns"))

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


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="1 iteration each, short idle window, output in bench/out/smoke")
    ap.add_argument("--ours", default=str(REPO / ".build/release/mathesar-init"))
    ap.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for mathesar-init (repeatable)")
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8", help="figures to run, e.g. 1,2 (2 and 3 run together)")
    ap.add_argument("--rounds", type=int, help="override every iteration count")
    ap.add_argument("--idle-seconds", type=float, help="idle window of figure 5 (default 60, smoke 3)")
    ap.add_argument("--zombies", type=int, help="zombies handed to PID 1 in figure 7 (default 2000, smoke 200)")
    ap.add_argument("--docker-stop-timeout", type=float, help="grace before SIGKILL in figure 3 (default 10, smoke 2)")
    ap.add_argument("--docker-stop-samples", type=int, default=2,
                    help="figure-3 samples of the mathesar-image flow (each waits the whole grace period)")
    ap.add_argument("--pgbin", default="/usr/lib/postgresql/15/bin")
    ap.add_argument("--workdir", default=str(OUT / "work"))
    ap.add_argument("--outdir", help="where RESULTS.md, results.json and the chart go "
                                     "(default bench/, smoke: bench/out/smoke)")
    ap.add_argument("--keep-work", action="store_true", help="keep bench/out/work (logs, volumes) for debugging")
    ap.add_argument("--require-ours", action="store_true", help="exit 1 when mathesar-init failed")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    random.seed(args.seed)
    t_start = time.monotonic()
    smoke = args.smoke
    r = args.rounds
    rounds = {"first": r or (1 if smoke else 7), "warm": r or (1 if smoke else 12), "signal": r or (1 if smoke else 40),
              "reap": r or (1 if smoke else 20), "start": r or (1 if smoke else 40)}
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
    ctx.available = {p: bool(shutil.which(p)) for p in PEERS}
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
        if only & {1, 2, 3}:
            fb, keep = fig_first_boot(ctx, rounds["first"], boot_timeout)
            if 1 in only:
                results["figures"]["1_first_boot"] = fb
            if only & {2, 3}:
                settle()
                wb, st = fig_warm_and_stop(ctx, keep, rounds["warm"], boot_timeout)
                if 2 in only:
                    results["figures"]["2_warm_boot"] = wb
                if 3 in only:
                    results["figures"]["3_stop"] = st
            for v in keep.values():
                shutil.rmtree(v["dir"], ignore_errors=True)
        if only & {4, 5}:
            settle()
            results["figures"]["4_5_memory_idle"] = fig_memory_idle(ctx, args.idle_seconds, boot_timeout)
        if only & {6, 7, 8}:
            settle()
            if ctx.ours_ok():
                try:
                    start_extdb(ctx)
                except Exception as e:  # noqa: BLE001
                    ctx.extdb_error = f"could not start the external database for figures 6-8: {e}"
            try:
                for fig, kind, title in ((6, "signal", "signal forwarding"), (7, "reap", "reaping"),
                                         (8, "start", "start -> child")):
                    if fig in only:
                        results["figures"][f"{fig}_{kind}"] = fig_small(ctx, kind, rounds[kind], title)
            finally:
                stop_extdb(ctx)
    finally:
        for inst in list(LIVE):
            inst.kill()

    results["meta"] = {
        "mode": "smoke" if smoke else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python3 bench/run.py" + (" --smoke" if smoke else "") + (
            "" if args.ours == str(REPO / ".build/release/mathesar-init") else f" --ours {args.ours}"),
        "duration_s": time.monotonic() - t_start,
        "machine": machine_info(), "versions": versions(ctx), "ours_error": ctx.ours_error,
        "config": {"rounds": rounds, "idle_seconds": args.idle_seconds, "zombies": args.zombies,
                   "docker_stop_timeout": args.docker_stop_timeout, "docker_stop_samples": args.docker_stop_samples,
                   "ours": str(ctx.ours), "ours_env": ctx.ours_env, "pgbin": args.pgbin},
    }
    chart = outdir / "boot-timeline.png"
    note = write_chart(results, chart)
    results["meta"]["duration_s"] = time.monotonic() - t_start
    (outdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_markdown(results, outdir / "RESULTS.md", chart.name, note)
    if not args.keep_work:
        shutil.rmtree(ctx.work, ignore_errors=True)
    log(f"wrote {outdir / 'RESULTS.md'}, {outdir / 'results.json'}" + ("" if note else f", {chart}")
        + f" in {results['meta']['duration_s']:.0f} s")
    fails = ours_failures(results)
    for k, v in fails.items():
        log(f"ours: failed: {k}: {v}")
    # The harness itself must work: a peer or baseline that failed is an error.
    broken = []
    for key, f in results["figures"].items():
        samples = f.get("samples", {})
        for n, xs in samples.items():
            if n == "ours":
                continue
            if not any((x.get("ok") if isinstance(x, dict) else x is not None) for x in xs if x is not None):
                if not (key == "3_stop" and n == "mathesar-image"):
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
