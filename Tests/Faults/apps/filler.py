#!/usr/bin/env python3
"""Fault-suite migrate command: fills the database (and so the volume) with
transactions of 8 rows of 256 KiB each, recording each committed batch in
ACK_DIR, until the server fails; exits 1 then (a failed migration), or 0 after
BATCHES batches."""
import os
import sys
import time

import psycopg

conninfo = dict(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DB"],
                user=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"], connect_timeout=5)
limit = int(os.environ.get("BATCHES", "0")) or None
ack = os.open(os.path.join(os.environ["ACK_DIR"], f"fill-{os.getpid()}-{time.time_ns()}.log"),
              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
try:
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filler (batch bigint, n int, blob text, PRIMARY KEY (batch, n))")
        batch = conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM filler").fetchone()[0]
        print(f"filler starting at batch {batch}", flush=True)
        done = 0
        while limit is None or done < limit:
            with conn.transaction():
                for n in range(8):
                    # Random text does not compress: every row takes its full size on disk.
                    conn.execute("INSERT INTO filler VALUES (%s, %s, %s)", (batch, n, os.urandom(128 * 1024).hex()))
            os.write(ack, f"{batch}\n".encode())
            os.fsync(ack)
            batch += 1
            done += 1
except psycopg.Error as error:
    print(f"filler failed after {done} batches: {str(error).splitlines()[0]}", flush=True)
    sys.exit(1)
print(f"filler done: {done} batches", flush=True)
