#!/usr/bin/env python3
"""Fault-suite app: commits numbered rows through the POSTGRES_* environment it
was given and records every acknowledged commit in its own file in ACK_DIR
(outside the volume), one id a line, written and fsync'd only after COMMIT
returned. Killed at any moment, the file lists only rows the server
acknowledged; a torn last line is not counted.

Env: ACK_DIR, ID_START (first id of this writer's range), SOURCE (app|migrate),
ROWS (stop after this many; default: forever), PAUSE (seconds between commits),
RECONNECT (seconds to keep retrying a lost connection; default 0: exit 1),
VERIFY_OUT (verify mode: write every id in the table to this file and exit),
TERM_HOLD (1: on SIGTERM say "writer stopping" and go on committing, so that a
test can act while the app is still being stopped; PID 1 SIGKILLs it at its deadline).
"""
import os
import random
import signal
import sys
import time

import psycopg

RANGE = 1_000_000
conninfo = dict(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DB"],
                user=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"],
                sslmode=os.environ.get("POSTGRES_SSLMODE", "prefer"), connect_timeout=5)
source = os.environ.get("SOURCE", "app")
if os.environ.get("TERM_HOLD") == "1":
    signal.signal(signal.SIGTERM, lambda *_: print(f"{source} writer stopping", flush=True))
reconnect = float(os.environ.get("RECONNECT", "0"))


def connect():
    deadline = time.monotonic() + reconnect
    while True:
        try:
            return psycopg.connect(**conninfo, autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


conn = connect()
conn.execute("CREATE TABLE IF NOT EXISTS acked (id bigint PRIMARY KEY, source text NOT NULL, payload text NOT NULL)")

if "VERIFY_OUT" in os.environ:
    ids = [r[0] for r in conn.execute("SELECT id FROM acked ORDER BY id")]
    with open(os.environ["VERIFY_OUT"], "w") as out:
        out.write("".join(f"{i}\n" for i in ids))
    print(f"verify: {len(ids)} rows", flush=True)
    sys.exit(0)

start = int(os.environ["ID_START"])
# A restarted writer continues its range after what the server already has.
last = conn.execute("SELECT max(id) FROM acked WHERE id >= %s AND id < %s", (start, start + RANGE)).fetchone()[0]
next_id = start if last is None else last + 1
rows = int(os.environ.get("ROWS", "0")) or None
pause = float(os.environ.get("PAUSE", "0"))
ack_path = os.path.join(os.environ["ACK_DIR"], f"ack-{source}-{start}-{os.getpid()}-{time.time_ns()}.log")
ack = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.fsync(os.open(os.environ["ACK_DIR"], os.O_RDONLY))
print(f"{source} writer ready at id {next_id}", flush=True)
written = 0
rng = random.Random()
while rows is None or written < rows:
    batch = 1 if rng.random() < 0.7 else rng.randint(2, 20)
    ids = list(range(next_id, next_id + batch))
    payload = "x" * rng.randint(1, 2000)
    while True:
        try:
            if batch == 1:
                conn.execute("INSERT INTO acked VALUES (%s, %s, %s)", (ids[0], source, payload))
            else:
                with conn.transaction():
                    for i in ids:
                        conn.execute("INSERT INTO acked VALUES (%s, %s, %s)", (i, source, payload))
            break
        except psycopg.OperationalError as error:
            # The commit's fate is unknown: it is not acknowledged. Continue after
            # whatever the server has once it is back.
            if reconnect <= 0:
                print(f"{source} writer lost the server: {error}".splitlines()[0], flush=True)
                sys.exit(1)
            conn = connect()
            last = conn.execute("SELECT max(id) FROM acked WHERE id >= %s AND id < %s", (start, start + RANGE)).fetchone()[0]
            next_id = start if last is None else last + 1
            ids = list(range(next_id, next_id + batch))
    os.write(ack, "".join(f"{i}\n" for i in ids).encode())
    os.fsync(ack)
    next_id += batch
    written += batch
    if written % 200 < batch:
        print(f"{source} writer: {written} rows acknowledged", flush=True)
    if pause:
        time.sleep(pause)
print(f"{source} writer done: {written} rows acknowledged", flush=True)
