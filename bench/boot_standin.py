#!/usr/bin/env python3
"""First and warm boot to the first HTTP answer with the Mathesar stand-in
(docker/standin), pair by pair in one run:

  ours         mathesar-init as PID 1 (unshare), bundled PostgreSQL; first boot
               from the template `mathesar-init prepare` made (not timed: image
               build), MATHESAR_MIGRATE=changed
  mathesar     a re-creation of Mathesar's own image flow (`bin/mathesar run
               -fnse`): initdb (fsync on, as pg_createcluster runs it), the
               server daemonized with `pg_ctl -w start`, the password set with
               psql, createdb, `python -m mathesar.install` at every boot, gunicorn
  floor        gunicorn alone on a database that is already up and migrated

Every flow runs the same gunicorn command (2 workers) and is timed from its
start to the first HTTP answer of any status. Prints one line per round and
a summary with medians and the ratios of the targets. Standalone: needs a
built mathesar-init (.build/release), PostgreSQL binaries (MATHESAR_PG_BINDIR,
default /usr/lib/postgresql/15/bin) and the stand-in's venv
(STANDIN_VENV, default .cache/standin-venv: `./dev setup` makes it). Run as root.

    python3 bench/boot_standin.py [ROUNDS]     # default 5
"""
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INIT = REPO / ".build" / "release" / "mathesar-init"
PGBIN = Path(os.environ.get("MATHESAR_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
VENV = Path(os.environ.get("STANDIN_VENV", REPO / ".cache" / "standin-venv"))
STANDIN = REPO / "docker" / "standin"
WORKERS = "2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(port, proc, timeout=300):
    """Seconds until anything answers HTTP on port (polled every 2 ms: a benchmark, not a test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/"):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError("no answer")


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MATHESAR_", "PG"))}
    e.update(PATH=f"{VENV}/bin:/usr/sbin:/usr/bin:/sbin:/bin", DJANGO_SETTINGS_MODULE="config.settings.production",
             SKIP_STATIC_COLLECTION="true", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def gunicorn(port):
    return ["gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "--workers", WORKERS]


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Ours:
    def __init__(self, root, template):
        self.root, self.template = root, template

    def boot(self, volume, port, pgport):
        e = env(MATHESAR_DATA_DIR=volume / "data", MATHESAR_RUN_DIR=volume / "run", MATHESAR_PG_BINDIR=PGBIN,
                MATHESAR_TEMPLATE_DIR=self.template, POSTGRES_PORT=pgport,
                MATHESAR_APP_FINGERPRINT_PATHS=f"{STANDIN}/mathesar/__init__.py:{STANDIN}/mathesar/migrations",
                MATHESAR_MIGRATE_COMMAND="python -m mathesar.install")
        start = time.monotonic()
        proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(INIT), *gunicorn(port)],
                                env=e, cwd=STANDIN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answered = first_answer(port, proc)
        return answered - start, proc


def as_postgres(cmd, **kw):
    return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *map(str, cmd)], **kw)


class MathesarFlow:
    """bin/mathesar run -fnse, re-created (its shell steps, in order)."""
    PASSWORD = "mathesar"

    def boot(self, volume, port, pgport):
        pgdata, sock = volume / "pgdata", volume / "sock"
        start = time.monotonic()
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(parents=True)
            sock.mkdir(exist_ok=True)
            shutil.chown(pgdata, "postgres", "postgres")
            shutil.chown(sock, "postgres", "postgres")
            as_postgres([PGBIN / "initdb", "-D", pgdata, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                         "--auth-local=peer", "--auth-host=scram-sha-256"], check=True, capture_output=True)
            first = True
        else:
            first = False
        as_postgres([PGBIN / "pg_ctl", "-D", pgdata, "-w", "-l", sock / "server.log", "-o",
                     f"-c listen_addresses=127.0.0.1 -c port={pgport} -c unix_socket_directories={sock}", "start"],
                    check=True, capture_output=True)
        if first:
            for sql in [f"ALTER USER postgres PASSWORD '{self.PASSWORD}'", "CREATE DATABASE mathesar_django"]:
                as_postgres(["psql", "-h", sock, "-p", pgport, "-U", "postgres", "-d", "postgres", "-qc", sql],
                            check=True, capture_output=True)
        e = env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=pgport, POSTGRES_USER="postgres", POSTGRES_PASSWORD=self.PASSWORD,
                POSTGRES_DB="mathesar_django", SECRET_KEY="benchmark-only-secret-key-" + "x" * 30)
        subprocess.run([f"{VENV}/bin/python", "-m", "mathesar.install", "--skip-confirm"], env=e, cwd=STANDIN,
                       check=True, capture_output=True)
        proc = subprocess.Popen(gunicorn(port), env=e, cwd=STANDIN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answered = first_answer(port, proc)
        proc.volume, proc.pgdata = volume, pgdata
        return answered - start, proc

    @staticmethod
    def stop(proc):
        stop(proc)
        as_postgres([PGBIN / "pg_ctl", "-D", proc.pgdata, "-m", "fast", "-w", "stop"], capture_output=True)

    def floor(self, volume, port, pgport):
        """gunicorn alone: the database is started and migrated first, untimed."""
        pgdata, sock = volume / "pgdata", volume / "sock"
        as_postgres([PGBIN / "pg_ctl", "-D", pgdata, "-w", "-l", sock / "server.log", "-o",
                     f"-c listen_addresses=127.0.0.1 -c port={pgport} -c unix_socket_directories={sock}", "start"],
                    check=True, capture_output=True)
        e = env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=pgport, POSTGRES_USER="postgres", POSTGRES_PASSWORD=self.PASSWORD,
                POSTGRES_DB="mathesar_django", SECRET_KEY="benchmark-only-secret-key-" + "x" * 30)
        start = time.monotonic()
        proc = subprocess.Popen(gunicorn(port), env=e, cwd=STANDIN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answered = first_answer(port, proc)
        proc.volume, proc.pgdata = volume, pgdata
        return answered - start, proc


def new_dir(root, name):
    d = Path(tempfile.mkdtemp(prefix=name + "-", dir=root))
    os.chmod(d, 0o755)
    return d


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = Path(tempfile.mkdtemp(prefix="msi-bench-standin-"))
    os.chmod(root, 0o755)
    try:
        if not (STANDIN / "static").exists():
            subprocess.run([f"{VENV}/bin/python", "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=STANDIN,
                           env=env(SECRET_KEY="collectstatic-only"), check=True)
        template = root / "template"
        t = time.monotonic()
        subprocess.run([str(INIT), "prepare"], cwd=STANDIN, check=True, capture_output=True,
                       env=env(MATHESAR_TEMPLATE_DIR=template, MATHESAR_PG_BINDIR=PGBIN, POSTGRES_PORT=free_port(),
                               MATHESAR_APP_FINGERPRINT_PATHS=f"{STANDIN}/mathesar/__init__.py:{STANDIN}/mathesar/migrations",
                               MATHESAR_MIGRATE_COMMAND="python -m mathesar.install"))
        print(f"prepare (image build, not in the figures): {time.monotonic() - t:.2f} s", flush=True)
        ours, theirs = Ours(root, template), MathesarFlow()
        results = {k: [] for k in ["ours_first", "mathesar_first", "ours_warm", "mathesar_warm", "floor"]}
        for r in range(rounds):
            vo, vm = new_dir(root, "ours"), new_dir(root, "mathesar")
            row = {}
            for key, flow, vol in [("ours_first", ours, vo), ("mathesar_first", theirs, vm),
                                   ("ours_warm", ours, vo), ("mathesar_warm", theirs, vm), ("floor", None, vm)]:
                port, pgport = free_port(), free_port()
                if flow is None:
                    seconds, proc = theirs.floor(vol, port, pgport)
                else:
                    seconds, proc = flow.boot(vol, port, pgport)
                (MathesarFlow.stop if flow is not ours else stop)(proc)
                row[key] = seconds
                results[key].append(seconds)
            print(f"round {r + 1}: " + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in row.items()), flush=True)
            shutil.rmtree(vo, ignore_errors=True)
            shutil.rmtree(vm, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in results.items()}
        print("\nmedians (ms): " + "  ".join(f"{k} {v * 1000:.0f}" for k, v in med.items()))
        pair = lambda a, b: statistics.median(x / y for x, y in zip(results[a], results[b]))
        print(f"first boot: ours / Mathesar's flow = {pair('ours_first', 'mathesar_first'):.2f} (target <= 0.3); "
              f"ours - floor = {(med['ours_first'] - med['floor']) * 1000:.0f} ms (target <= 150)")
        print(f"warm boot: ours / Mathesar's flow = {pair('ours_warm', 'mathesar_warm'):.2f}; "
              f"ours - floor = {(med['ours_warm'] - med['floor']) * 1000:.0f} ms (target <= 60)")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root (the bundled server and the peer flow run as postgres)")
    pwd.getpwnam("postgres")
    main()
