#!/usr/bin/env python3
"""Test app for backups: ACTION=write commits batches of BATCH rows, one
transaction each, forever, and prints "committed N" after each commit (an
acknowledged batch); ACTION=check prints "batches=N sizes=S" (every batch's
row count, so a batch split by a backup shows as a size other than BATCH)
and the rows of table t written by db_app.py, if any."""
import os
import sys
import time

import psycopg

conninfo = dict(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DB"],
                user=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"], connect_timeout=5)
batch = int(os.environ.get("BATCH", "50"))
with psycopg.connect(**conninfo) as conn:
    if os.environ.get("ACTION") == "write":
        conn.execute("CREATE TABLE IF NOT EXISTS batches (batch int, item int, payload text)")
        conn.commit()
        n = conn.execute("SELECT coalesce(max(batch), 0) FROM batches").fetchone()[0]
        while True:
            n += 1
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO batches VALUES (%s, %s, repeat('x', 200))", [(n, i) for i in range(batch)])
            conn.commit()
            print(f"committed {n}", flush=True)
            if os.environ.get("PAUSE"):
                time.sleep(float(os.environ["PAUSE"]))
    else:
        sizes = conn.execute("SELECT batch, count(*) FROM batches GROUP BY batch ORDER BY batch").fetchall()
        print("batches=" + str(len(sizes)) + " max=" + str(max([b for b, _ in sizes], default=0))
              + " sizes=" + ",".join(sorted({str(c) for _, c in sizes})), flush=True)
