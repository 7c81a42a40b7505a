#!/usr/bin/env python3
"""Test migrate command shaped like Django's `migrate`: records each
migration named in MIGRATIONS (comma-separated) in django_migrations of the
internal database, through exactly the environment it is given (POSTGRES_*).
Appends one line to RUNS_LOG per run (what the tests count). FAIL=1 exits 1
after recording; HOLD=1 prints "migrate: holding" and sleeps (to be killed)."""
import os
import sys
import time

import psycopg

conninfo = dict(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"], dbname=os.environ["POSTGRES_DB"],
                user=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"], connect_timeout=5)
assert os.environ.get("SECRET_KEY"), "the migrate command is given SECRET_KEY"
names = [n for n in os.environ.get("MIGRATIONS", "0001_initial").split(",") if n]
with psycopg.connect(**conninfo, autocommit=True) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS django_migrations (id serial PRIMARY KEY, app text NOT NULL, "
                 "name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())")
    done = {r[0] for r in conn.execute("SELECT name FROM django_migrations WHERE app = 'mathesar'")}
    for name in names:
        if name not in done:
            conn.execute("INSERT INTO django_migrations (app, name) VALUES ('mathesar', %s)", (name,))
    count = conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
if os.environ.get("RUNS_LOG"):
    with open(os.environ["RUNS_LOG"], "a") as log:
        log.write(f"ran {','.join(names)}\n")
print(f"migrate: {count} migrations applied", flush=True)
if os.environ.get("HOLD") == "1":
    print("migrate: holding", flush=True)
    time.sleep(3600)
sys.exit(1 if os.environ.get("FAIL") == "1" else 0)
