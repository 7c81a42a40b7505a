"""The database flows of figures 1-5: a volume, each flow's argv and
environment, one boot measured from spawn to ready, a clean stop, and the
repair of a volume whose cluster was SIGKILLed.

Flows: `postgres-image` (the official image's entrypoint, baselines/),
`bare-postgres` (`postgres -D` on its volume), `mathesar-image` (Mathesar's
current run.sh/db-run.sh, baselines/), `ours` (mathesar-init, bundled)."""
import datetime
import json
import os
import re
import signal
import socket
import struct
import sys
import time

from common import (BENCHKIT, DEMO_APP, MATHESAR_IMAGE, PG_IMAGE, Subject, base_env, ours_bundled_env, read_marks,
                    read_num)
from kit import AS_POSTGRES, PostgresServer, controldata_state, free_port, procfs, signal_pid_if, wait_until

FLOWS_FIRST = ["postgres-image", "mathesar-image", "ours"]
FLOWS_WARM = ["postgres-image", "bare-postgres", "mathesar-image", "ours"]
PG_USER = {"postgres-image": ("mathesar", "mathesar_django"), "bare-postgres": ("mathesar", "mathesar_django"),
           "mathesar-image": ("postgres", "mathesar_django"), "ours": ("mathesar", "mathesar_django")}
# The probe starts only after this mark: the temporary server of the
# mathesar-image flow listens on TCP too and must not count as "ready".
PING_AFTER = {"mathesar-image": "final_start", "postgres-image": "final_exec"}


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


def http_status(port, timeout=0.5):
    """The first bytes of the answer to `GET /` on 127.0.0.1:port (b"" when nothing answers)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(64)
    except OSError:
        return b""


def http_ok(port):
    return http_status(port).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))


# --------------------------------------------------------------------------
# Volumes and boots

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
        return [*AS_POSTGRES, f"{ctx.pgbin}/postgres",
                "-D", vol["pgdata"], "-p", vol["port"], "-k", vol["run"], "-c", "listen_addresses=127.0.0.1"], env
    if flow == "mathesar-image":
        env.update(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(vol["port"]), POSTGRES_USER="postgres",
                   POSTGRES_PASSWORD="mathesar", POSTGRES_DB="mathesar_django", POSTGRES_SSLMODE="disable")
        return ["bash", MATHESAR_IMAGE, *app_cmd], env
    if flow == "ours":
        return [ctx.ours, "run", "--", *app_cmd], ours_bundled_env(ctx, vol, vol["port"])
    raise ValueError(flow)


def new_marks(vol, name):
    """An empty marks file the baselines (run as other users) can write."""
    marks = vol["dir"] / name
    marks.touch()
    os.chmod(marks, 0o666)
    return marks


def start_flow(ctx, flow, vol, marks, app, capture=False):
    argv, env = flow_argv_env(ctx, flow, vol, marks, app)
    return Subject(argv, env, vol["dir"] / f"{flow}.log", capture=capture)


def boot(ctx, flow, vol, app, want_http, timeout):
    """Boot a flow; return (inst, result). result has times in ms from spawn."""
    marks = new_marks(vol, f"marks-{time.monotonic_ns()}")
    stamp = vol["dir"] / "app-stamp"
    if stamp.exists():
        stamp.unlink()
    status = vol["run"] / "status.json"
    user, db = PG_USER[flow]
    inst = start_flow(ctx, flow, vol, marks, app, capture=(flow == "ours"))
    t0 = inst.t0_wall
    res = {"ok": False, "error": None}
    db_ready = http200 = running = None
    after = PING_AFTER.get(flow)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.time_ns()
        if not inst.alive():
            res["error"] = f"PID 1 exited with {inst.proc.returncode}: {inst.tail()}"
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
        res["error"] = f"not ready in {timeout} s: {inst.tail()}"
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
        res["log_phases"] = parse_phase_lines(inst.timed_lines(), t0)
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


# --------------------------------------------------------------------------
# Stopping, and repairing a volume after a SIGKILL

def find_postmaster(inst):
    """Host pid of the postmaster below PID 1 (a postgres whose parent is not one)."""
    pid1 = inst.pid1
    if not pid1:
        return None
    procs = {pid: (ppid, comm) for pid, ppid, _, comm in procfs.descendants(pid1)}
    try:
        procs[pid1] = (0, procfs.stat(pid1)["comm"])
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
        if inst.exited_within(15):
            inst.close()
            return
    elif flow == "mathesar-image":
        pm = find_postmaster(inst)
        if pm:
            try:  # by pidfd, and only while it is still that postmaster
                signal_pid_if(pm, signal.SIGINT, lambda p: procfs.stat(p)["comm"] == "postgres")
                wait_until(lambda: not os.path.exists(f"/proc/{pm}"), 15, 0.002)
            except (ProcessLookupError, FileNotFoundError):
                pass
    elif flow == "ours":
        inst.signal(signal.SIGTERM)
        if inst.exited_within(15):
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
        pid.unlink()  # its pid may belong to another process by now
    conf = vol["root"] / "etc/postgresql/15/mathesar/postgresql.conf"
    settings = {"config_file": conf} if conf.exists() else {}
    try:
        with PostgresServer(bindir=ctx.pgbin, data=pgdata, tcp=False, settings=settings, start_timeout=60):
            pass
    except RuntimeError as e:
        print(f"repair of {pgdata} failed: {e}", file=sys.stderr)
