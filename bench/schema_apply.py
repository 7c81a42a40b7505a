#!/usr/bin/env python3
"""Time to apply N small schema files (one CREATE TABLE each) with the
mathesar-init migrator against `psql -f` run once per file, on the same
PostgreSQL server (issue 5's closing note).

    swift build -c release
    python3 bench/schema_apply.py                 # 1,000 files, 3 rounds
    python3 bench/schema_apply.py --files 200 --rounds 1

Both sides get the same work: every file in its own transaction (`psql -1`),
over TCP to 127.0.0.1 with SCRAM authentication, into a fresh database each
round. The migrator also takes the advisory lock, checks the ledger and writes
one ledger row per file; psql records nothing. The server is a throwaway
cluster in a temporary directory, started with fsync=off so that the disk
does not dominate both sides (--fsync keeps the default).

Python 3 standard library only. Run as root (the server runs as the OS user
postgres) or as an ordinary user.
"""
import argparse
import glob
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROLE, PASSWORD = "bench", "bench-password"


def pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(os.environ.get("MSI_TEST_PG_BINDIR") or (found[-1] if found else "/usr/bin"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, fsync):
        self.bindir = pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="msi-bench-schema-"))
        self.port = free_port()
        self.as_postgres = []
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.root, pg.pw_uid, pg.pw_gid)
            self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        self.data = self.root / "data"
        subprocess.run(self.as_postgres + [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                           "--auth-local=trust", "--auth-host=scram-sha-256", "-N", "-E", "UTF8"],
                       check=True, capture_output=True)
        options = ["-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}", "-c", f"unix_socket_directories={self.root}"]
        if not fsync:
            options += ["-c", "fsync=off"]
        self.proc = subprocess.Popen(self.as_postgres + [str(self.bindir / "postgres"), "-D", str(self.data), *options],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while subprocess.run([self.bindir / "pg_isready", "-h", str(self.root), "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("the benchmark's PostgreSQL did not start")
            time.sleep(0.05)
        self.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")

    def sql(self, statement, database="postgres"):
        subprocess.run(["psql", "-X", "-q", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database,
                        "-v", "ON_ERROR_STOP=1", "-c", statement], check=True, capture_output=True)

    def fresh_database(self, name):
        self.sql(f"DROP DATABASE IF EXISTS {name}")
        self.sql(f"CREATE DATABASE {name} OWNER {ROLE}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MATHESAR_", "PG"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_migrator(binary, server, bundle, database, scratch):
    env = clean_env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=server.port, POSTGRES_USER=ROLE, POSTGRES_PASSWORD=PASSWORD,
                    POSTGRES_DB=database, POSTGRES_SSLMODE="disable", MATHESAR_SCHEMA_DIR=bundle,
                    MATHESAR_DATA_DIR=scratch / "data", MATHESAR_RUN_DIR=scratch / "run")
    start = time.perf_counter()
    result = subprocess.run([str(binary), "schema", "install", "--database", database], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"mathesar-init schema install failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def run_psql_loop(server, files, database):
    env = clean_env(PGPASSWORD=PASSWORD, PGSSLMODE="disable")
    base = ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(server.port), "-U", ROLE, "-d", database, "-f"]
    start = time.perf_counter()
    for path in files:
        subprocess.run(base + [str(path)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", type=Path, default=REPO / ".build" / "release" / "mathesar-init")
    parser.add_argument("--fsync", action="store_true", help="keep fsync on (default: off)")
    args = parser.parse_args()
    if not args.binary.exists():
        raise SystemExit(f"{args.binary} is missing: run swift build -c release first")
    if not shutil.which("psql"):
        raise SystemExit("psql is not on PATH")

    scratch = Path(tempfile.mkdtemp(prefix="msi-bench-bundle-"))
    os.chmod(scratch, 0o755)
    bundle = scratch / "bundle"
    bundle.mkdir()
    files = []
    for n in range(1, args.files + 1):
        path = bundle / f"{n:04d}_table_{n}.sql"
        path.write_text(f"CREATE TABLE public.bench_{n} (id integer PRIMARY KEY, note text);\n")
        files.append(path)

    server = Server(args.fsync)
    try:
        ours, theirs = [], []
        for round_ in range(1, args.rounds + 1):
            server.fresh_database("bench_migrator")
            server.fresh_database("bench_psql")
            ours.append(run_migrator(args.binary, server, bundle, "bench_migrator", scratch))
            theirs.append(run_psql_loop(server, files, "bench_psql"))
            print(f"round {round_}: migrator {ours[-1]:.3f} s, psql -f loop {theirs[-1]:.3f} s", flush=True)
        pg_version = subprocess.run([server.bindir / "postgres", "--version"], capture_output=True, text=True).stdout.strip()
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    m, p = statistics.median(ours), statistics.median(theirs)
    print(f"\n{args.files} files, one CREATE TABLE each, each in its own transaction; {pg_version}, "
          f"fsync {'on' if args.fsync else 'off'}; median of {args.rounds} round(s)")
    print(f"mathesar-init migrator: {m:.3f} s ({m / args.files * 1000:.2f} ms a file, ledger rows included)")
    print(f"psql -f in a loop:      {p:.3f} s ({p / args.files * 1000:.2f} ms a file)")
    print(f"ratio psql / migrator:  {p / m:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
