#!/usr/bin/env python3
"""Test app: connects with exactly the environment it was given (POSTGRES_*),
does ACTION, prints the result, then sleeps SLEEP seconds (default: exit).

ACTION: write (create table t, insert a row with VALUE), read (print the rows),
whoami (print current_user and the server's address).
"""
import os
import sys
import time

import psycopg

conninfo = dict(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DB"],
                user=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"],
                sslmode=os.environ.get("POSTGRES_SSLMODE", "prefer"), connect_timeout=5)
action = os.environ.get("ACTION", "whoami")
with psycopg.connect(**conninfo, autocommit=True) as conn:
    if action == "write":
        conn.execute("CREATE TABLE IF NOT EXISTS t (value text)")
        conn.execute("INSERT INTO t VALUES (%s)", (os.environ["VALUE"],))
        print("wrote", os.environ["VALUE"], flush=True)
    elif action == "read":
        rows = [r[0] for r in conn.execute("SELECT value FROM t ORDER BY 1")]
        print("rows=" + ",".join(rows), flush=True)
    else:
        user, addr = conn.execute("SELECT current_user, inet_server_addr()").fetchone()
        print(f"connected as {user} to {addr}", flush=True)
time.sleep(float(os.environ.get("SLEEP", "0")))
