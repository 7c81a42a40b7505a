"""The PaaS conventions against the real binary as PID 1: DATABASE_URL
instead of the POSTGRES_* variables, PORT for where the app listens (real
gunicorn given no -b) and where `healthcheck` asks."""
import signal
import subprocess
import urllib.parse
import urllib.request

from harness import APPS, INIT, PYTHON, Init, free_port

DB_APP = [PYTHON, str(APPS / "db_app.py")]
# ":" "@" "/" "%" and a space: all must be percent-encoded in a URL
AWKWARD_PASSWORD = "p:w@d/x% y-41c7"


def url_env(volume, pg_server, **extra):
    password = urllib.parse.quote(AWKWARD_PASSWORD, safe="")
    return volume.env(DATABASE_URL=f"postgresql://url_role:{password}@127.0.0.1:{pg_server.port}/url_db?sslmode=disable",
                      MATHESAR_RESTART="never", **extra)


def test_database_url_with_a_percent_encoded_password_reaches_the_external_server(pg_server, volume):
    pg_server.make_role("url_role", AWKWARD_PASSWORD, owns="url_db")
    init = Init(["run", "--", *DB_APP], url_env(volume, pg_server, ACTION="whoami"))
    assert init.wait(60) == 0, init.output
    # the app connected with the POSTGRES_* the URL implies (db_app reads only those)
    assert "connected as url_role to 127.0.0.1" in init.output
    assert "external PostgreSQL at 127.0.0.1" in init.output
    assert AWKWARD_PASSWORD not in init.output
    assert urllib.parse.quote(AWKWARD_PASSWORD, safe="") not in init.output


def test_database_url_with_postgres_host_is_refused_naming_both(pg_server, volume):
    env = url_env(volume, pg_server, POSTGRES_HOST="db.example.com")
    r = subprocess.run([str(INIT), "check"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 78, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "DATABASE_URL" in out and "POSTGRES_HOST" in out
    assert "postgresql://url_role:<redacted>@127.0.0.1" in out
    assert urllib.parse.quote(AWKWARD_PASSWORD, safe="") not in out


def test_a_malformed_database_url_never_shows_its_password(volume):
    env = volume.env(DATABASE_URL="postgres://someone:hunter2-secret-9f@db.example.com:notaport/x")
    r = subprocess.run([str(INIT), "check"], env=env, capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode == 78 and "DATABASE_URL" in out and "port" in out, out
    assert "hunter2-secret-9f" not in out


def test_port_is_where_gunicorn_listens_and_where_healthcheck_asks(external_env):
    port = free_port()
    env = external_env(PORT=port, MATHESAR_RESTART="never")
    # no -b: gunicorn binds 0.0.0.0:$PORT from the environment mathesar-init gives it
    init = Init(["run", "--", PYTHON, "-m", "gunicorn", "--chdir", str(APPS), "-w", "1", "wsgi_hello:app"], env)
    init.wait_for(rf"Listening at: http://0\.0\.0\.0:{port}")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        assert r.read().decode().strip() == f"PORT={port} DATABASE_URL=False"
    r = subprocess.run([str(INIT), "healthcheck"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and f"http://127.0.0.1:{port}/" in r.stdout, r.stdout + r.stderr
    init.signal(signal.SIGTERM)
    assert init.wait() == 0, init.output


def test_without_port_the_app_gets_8000(external_env):
    init = Init(["run", "--", PYTHON, "-c", "import os; print('PORT=' + os.environ['PORT'])"],
                external_env(MATHESAR_RESTART="never"))
    assert init.wait(60) == 0, init.output
    assert "PORT=8000" in init.output
