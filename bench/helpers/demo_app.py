"""The app the boot benchmarks start: a stand-in for Mathesar's gunicorn.

    demo_app.py MARKS HTTP_PORT

Appends "<name> <epoch ns>" lines to MARKS:
  app_start    the interpreter is running
  app_db_ok    an authenticated psql connection with the POSTGRES_* environment
               it was given succeeded (it retries every 10 ms, up to 60 s)
  http_listen  it listens on 127.0.0.1:HTTP_PORT and answers 200 to any GET
SIGTERM/SIGINT end it at once (exit 0), so its own exit time is a few ms.
Standard library only; psql comes from PATH or MATHESAR_PG_BINDIR.
"""
import os
import shutil
import signal
import subprocess
import sys
import time


def mark(path, name):
    with open(path, "a") as f:
        f.write(f"{name} {time.time_ns()}\n")


def psql_path():
    for d in (os.environ.get("MATHESAR_PG_BINDIR"), os.environ.get("PGBIN"), "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "psql")):
            return os.path.join(d, "psql")
    return shutil.which("psql") or "psql"


def wait_db(marks):
    env = dict(os.environ)
    host = env.get("POSTGRES_HOST") or "127.0.0.1"
    env.update(
        PGHOST=host,
        PGPORT=env.get("POSTGRES_PORT", "5432"),
        PGUSER=env.get("POSTGRES_USER", "mathesar"),
        PGDATABASE=env.get("POSTGRES_DB", "mathesar_django"),
        PGCONNECT_TIMEOUT="2",
    )
    if env.get("POSTGRES_PASSWORD"):
        env["PGPASSWORD"] = env["POSTGRES_PASSWORD"]
    elif env.get("POSTGRES_PASSWORD_FILE"):
        with open(env["POSTGRES_PASSWORD_FILE"]) as f:
            env["PGPASSWORD"] = f.read().strip()
    if env.get("POSTGRES_SSLMODE"):
        env["PGSSLMODE"] = env["POSTGRES_SSLMODE"]
    psql = psql_path()
    deadline = time.monotonic() + 60
    last = ""
    while time.monotonic() < deadline:
        r = subprocess.run([psql, "-XAtqc", "select 1"], env=env, capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == "1":
            mark(marks, "app_db_ok")
            return
        last = r.stderr.strip().splitlines()[-1:] or [""]
        time.sleep(0.01)
    print(f"demo_app: database not reachable: {last}", file=sys.stderr)
    sys.exit(69)


def main():
    marks, port = sys.argv[1], int(sys.argv[2])
    mark(marks, "app_start")
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: os._exit(0))
    wait_db(marks)
    import http.server  # after app_start: the mark should not pay for this import

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
    mark(marks, "http_listen")
    srv.serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
