#!/usr/bin/env python3
"""How long mathesar-init takes to upgrade a 1 GB PostgreSQL 15 cluster to 16,
in each MATHESAR_PG_UPGRADE_MODE (clone, copy, link).

Standalone (needs root, Debian's postgresql-15, `swift build -c release`):

    python3 bench/upgrade_time.py [--size-mb 1000] [--runs 3] [--modes clone,copy,link]

Every run uses a fresh XFS filesystem with reflinks in a loop device (so that
clone can work at all; copy and link run on the same filesystem for a fair
comparison; mkfs.xfs comes from the xfsprogs package), holding a copy of the
same 15 cluster, made once by booting mathesar-init with PostgreSQL 15 and
filling a table. The upgrade is a normal boot with PostgreSQL 16 whose app
exits at once; times come from the wall clock and from the step lines
mathesar-init logs. Results: a table on stdout, bench/out/upgrade-time.json.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests"))  # the test kit

from kit import Init, clean_env, free_port, pg_bindir  # noqa: E402

PG15, PG16 = pg_bindir(15), pg_bindir(16)
OUT = REPO / "bench" / "out" / "upgrade-time.json"


def boot(data, bindir, app, **extra):
    """One boot of mathesar-init as PID 1; returns (seconds, exit code, log lines)."""
    env = clean_env(MATHESAR_DATA_DIR=data, MATHESAR_RUN_DIR=data.parent / "run", MATHESAR_PG_BINDIR=bindir,
                    MATHESAR_RESTART="never", POSTGRES_PORT=free_port(), **extra)
    start = time.monotonic()
    init = Init(["run", "--", *app], env)
    code = init.wait(timeout=3600)
    return time.monotonic() - start, code, init.output.splitlines()


def seconds(text):
    value, unit = text.split()
    return float(value) / (1000 if unit == "ms" else 1)


class XFS:
    """A fresh reflink-capable XFS in a loop device, mounted at `path`."""

    def __init__(self, size_gb, where):
        self.size = size_gb
        self.image = Path(where) / "upgrade-bench.img"
        self.path = Path(where) / "upgrade-bench-mnt"

    def __enter__(self):
        self.path.mkdir(exist_ok=True)
        subprocess.run(["truncate", "-s", f"{self.size}G", str(self.image)], check=True)
        subprocess.run(["mkfs.xfs", "-q", "-f", "-m", "reflink=1", str(self.image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(self.image), str(self.path)], check=True)
        os.chmod(self.path, 0o755)
        return self.path

    def __exit__(self, *exc):
        subprocess.run(["umount", str(self.path)], check=False)
        self.image.unlink(missing_ok=True)


def make_template(root, size_mb):
    """A PostgreSQL 15 cluster of about size_mb, made through mathesar-init."""
    data = root / "data"
    rows = size_mb * 1_000_000 // 330  # ~300 bytes a row with its share of the index
    sql = ("CREATE TABLE big (id bigint PRIMARY KEY, label text, payload text); "
           f"INSERT INTO big SELECT i, md5(i::text), repeat(md5((i * 7)::text), 6) FROM generate_series(1, {rows}) i; "
           "SELECT pg_size_pretty(pg_database_size(current_database()))")
    app = ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec "$MSI_PSQL" -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" '
                       '-U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -tAc "$MSI_SQL"']
    took, code, lines = boot(data, PG15, app, MSI_PSQL=PG15 / "psql", MSI_SQL=sql)
    if code != 0:
        sys.exit("making the 15 cluster failed:\n" + "\n".join(lines[-20:]))
    def du(*extra):
        return int(subprocess.run(["du", "-sb", *extra, str(data / "postgres")], capture_output=True, text=True).stdout.split()[0])
    # pg_upgrade moves the relation files; pg_wal (up to max_wal_size after the load) stays behind.
    size, total = du("--exclude=pg_wal"), du()
    print(f"template: PostgreSQL 15 cluster with {size / 1e9:.2f} GB of data ({total / 1e9:.2f} GB with pg_wal) made in {took:.0f} s",
          file=sys.stderr)
    return data, size, total


def run_once(template, mode, where, size_gb):
    with XFS(size_gb, where) as mnt:
        subprocess.run(["cp", "-a", str(template), str(mnt / "data")], check=True)
        subprocess.run(["sync"], check=True)
        subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"], check=False)
        took, code, lines = boot(mnt / "data", PG16, ["true"], MATHESAR_PG_UPGRADE_MODE=mode)
        text = "\n".join(lines)
        if code != 0 or "upgrade from PostgreSQL 15 to 16 complete" not in text:
            sys.exit(f"upgrade in {mode} mode failed:\n" + "\n".join(lines[-30:]))
        steps = {int(m.group(1)): seconds(m.group(2))
                 for m in re.finditer(r"upgrade: step (\d)/6: .*: done \(([\d.]+ m?s)\)", text)}
        stats = re.search(r"statistics updated \(([\d.]+ m?s)\)", text)
        database = re.search(r"\| database: .*\(([\d.]+ m?s)\)$", text, re.M)
        return {
            "boot_s": round(took, 2),
            "database_phase_s": round(seconds(database.group(1)), 2) if database else None,
            "pg_upgrade_s": round(steps.get(4, 0), 2),
            "check_s": round(steps.get(3, 0), 2),
            "initdb_s": round(steps.get(2, 0), 2),
            "statistics_s": round(seconds(stats.group(1)), 2) if stats else None,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="clone,copy,link")
    parser.add_argument("--work", default="/var/tmp", help="where the loop images go (needs ~4x the size free)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (loop devices, mounts, the postgres account)")
    if not (PG16 / "pg_upgrade").exists():
        subprocess.run([str(REPO / "Tests" / "fetch-postgres.sh"), "16.13.0", str(PG16.parent)], check=True)
    if shutil.which("mkfs.xfs") is None:
        sys.exit("mkfs.xfs is needed (apt-get install xfsprogs)")
    size_gb = max(3, (args.size_mb * 4) // 1000 + 1)
    root = Path(tempfile.mkdtemp(prefix="upgrade-bench-", dir=args.work))
    os.chmod(root, 0o755)
    try:
        template, size, total = make_template(root, args.size_mb)
        results = {}
        for mode in args.modes.split(","):
            runs = [run_once(template, mode, root, size_gb) for _ in range(args.runs)]
            results[mode] = {"runs": runs, "median": {k: statistics.median([r[k] for r in runs if r[k] is not None] or [0])
                                                      for k in runs[0]}}
            print(f"{mode}: {results[mode]['median']}", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"cluster_bytes_without_wal": size, "cluster_bytes": total, "filesystem": "xfs (reflink=1) on a loop device",
                               "runs_per_mode": args.runs, "results": results}, indent=2) + "\n")
    print(f"\nUpgrade of a PostgreSQL 15 cluster with {size / 1e9:.2f} GB of data ({total / 1e9:.2f} GB with pg_wal) to 16 (median of {args.runs}; XFS with reflinks):\n")
    print("| mode | whole boot | database phase | pg_upgrade | pg_upgrade --check | initdb | statistics |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        m = r["median"]
        print(f"| {mode} | {m['boot_s']:.1f} s | {m['database_phase_s']:.1f} s | {m['pg_upgrade_s']:.1f} s | "
              f"{m['check_s']:.1f} s | {m['initdb_s']:.1f} s | {m['statistics_s']:.1f} s |")


if __name__ == "__main__":
    main()
