"""Test stand-in for MATHESAR_SQL_UPGRADE_COMMAND: speaks the protocol of the
app's SQL upgrade script (one JSON object per database on stdout) from a small
table in the internal database (reached with the app's POSTGRES_*), and
records what it did there, so that a test can check what was run.

    sql_upgrade.py upgrade [--database NAME] | status | uninstall --database NAME

Env: FIXTURE_TABLE (table name), FIXTURE_SEED (JSON [[name, id, version,
failure or null], ...], inserted when missing), FIXTURE_APP_VERSION (default
2.0), FIXTURE_GATE (a file: `upgrade` waits for it before the first
database), FIXTURE_EXIT (exit status at the end, after one stderr line).
Exit 1 when the internal database is unusable, 2 for an unknown database.
"""
import json
import os
import sys
import time

import psycopg

TABLE = os.environ["FIXTURE_TABLE"]
APP_VERSION = os.environ.get("FIXTURE_APP_VERSION", "2.0")


def emit(record):
    print(json.dumps(record), flush=True)


def connect():
    try:
        return psycopg.connect(host=os.environ["POSTGRES_HOST"], port=os.environ.get("POSTGRES_PORT", "5432"),
                               dbname=os.environ["POSTGRES_DB"], user=os.environ["POSTGRES_USER"],
                               password=os.environ["POSTGRES_PASSWORD"], autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        print(f"sql_upgrade: the internal database is unusable: {e}", file=sys.stderr)
        sys.exit(1)


def main(argv):
    action = argv[0]
    name = argv[argv.index("--database") + 1] if "--database" in argv else None
    db = connect()
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name text PRIMARY KEY, id int, version text, failure text)")
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE}_runs (n serial, action text, name text)")
    for row in json.loads(os.environ.get("FIXTURE_SEED", "[]")):
        db.execute(f"INSERT INTO {TABLE} VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", row)
    rows = db.execute(f"SELECT name, id, version, failure FROM {TABLE} ORDER BY id").fetchall()
    if name is not None:
        rows = [r for r in rows if r[0] == name]
        if not rows:
            print(f"sql_upgrade: no database named {name!r} is configured", file=sys.stderr)
            return 2
    print(f"fixture: {action} of {len(rows)} databases", flush=True)  # not a protocol line: passed through

    if action == "status":
        for database, id_, version, _ in rows:
            emit({"database": database, "id": id_, "server": "db:5432", "version": version,
                  "app_version": APP_VERSION, "needs_upgrade": version != APP_VERSION})
    elif action == "upgrade":
        gate = os.environ.get("FIXTURE_GATE")
        if gate:
            print("fixture: waiting for the gate", flush=True)
            while not os.path.exists(gate):
                time.sleep(0.01)
        for database, id_, version, failure in rows:
            start = time.monotonic()
            line = {"database": database, "id": id_, "server": "db:5432", "from": version, "to": APP_VERSION}
            if version == APP_VERSION:
                emit({**line, "result": "current", "ms": 0})
                continue
            db.execute(f"INSERT INTO {TABLE}_runs (action, name) VALUES ('upgrade', %s)", (database,))
            if failure:
                emit({**line, "result": "failed", "ms": 1, "error": failure})
                continue
            db.execute(f"UPDATE {TABLE} SET version = %s WHERE name = %s", (APP_VERSION, database))
            emit({**line, "result": "upgraded", "ms": round((time.monotonic() - start) * 1000)})
    elif action == "uninstall":
        for database, id_, _, _ in rows:
            db.execute(f"INSERT INTO {TABLE}_runs (action, name) VALUES ('uninstall', %s)", (database,))
            db.execute(f"UPDATE {TABLE} SET version = '0.0.0' WHERE name = %s", (database,))
            emit({"database": database, "id": id_, "server": "db:5432", "result": "uninstalled", "ms": 1})
    code = int(os.environ.get("FIXTURE_EXIT", "0"))
    if code:
        print(f"sql_upgrade: exiting {code} as asked", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
