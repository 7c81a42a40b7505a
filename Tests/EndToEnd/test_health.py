"""`mathesar-init healthcheck` against a running PID 1."""
import signal
import subprocess
import time

import pytest

from harness import APPS, INIT, PYTHON, Init, free_port


def healthcheck(env):
    r = subprocess.run([str(INIT), "healthcheck"], env=env, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip()


def http_app(port):
    return [PYTHON, "-m", "http.server", "--bind", "127.0.0.1", str(port)]


def test_healthy_when_the_app_answers_and_postgres_is_ready(volume):
    port, pg_port = free_port(), free_port()
    env = volume.env(POSTGRES_PORT=pg_port, MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/")
    init = Init(["run", "--", *http_app(port)], env)
    init.wait_for("app: started")
    deadline = time.monotonic() + 20
    code, line = healthcheck(env)
    while code != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        code, line = healthcheck(env)
    assert code == 0, line
    assert line.startswith("healthy:") and "PostgreSQL ready" in line and "answered 200" in line
    init.signal(signal.SIGTERM)
    init.wait()
    code, line = healthcheck(env)
    assert code == 1 and line.startswith("unhealthy: phase stopped")


def test_unhealthy_when_the_url_does_not_answer(external_env):
    env = external_env(MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{free_port()}/health")
    init = Init(["run", "--", "sleep", "60"], env)
    init.wait_for("app: started")
    code, line = healthcheck(env)
    assert code == 1
    assert "unhealthy:" in line and "Connection refused" in line
    init.signal(signal.SIGTERM)
    init.wait()


def test_unhealthy_when_the_app_answers_with_an_error(external_env):
    port = free_port()
    # Any path on http.server that does not exist answers 404.
    env = external_env(MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/no-such-page")
    init = Init(["run", "--", *http_app(port)], env)
    init.wait_for("app: started")
    deadline = time.monotonic() + 20
    code, line = healthcheck(env)
    while "answered" not in line and time.monotonic() < deadline:
        time.sleep(0.1)
        code, line = healthcheck(env)
    assert code == 1 and "answered 404" in line
    init.signal(signal.SIGTERM)
    init.wait()


def test_unhealthy_while_the_app_restarts(external_env):
    env = external_env()
    init = Init(["run", "--", "sh", "-c", "exit 1"], env)
    init.wait_for("restarting in 1 s")
    code, line = healthcheck(env)
    assert code == 1
    assert "app restarting" in line and "restarts:" in line
    init.signal(signal.SIGTERM)
    init.wait()


def test_unhealthy_without_a_status_file(volume):
    code, line = healthcheck(volume.env())
    assert code == 1 and "no " in line and "status.json" in line


# --- ALLOWED_HOSTS: the app answers 400 to a Host it does not accept -------------

HOST_APP = [PYTHON, str(APPS / "host_app.py")]


def healthy_within(env, seconds=20):
    deadline = time.monotonic() + seconds
    code, line = healthcheck(env)
    while "answered" not in line and time.monotonic() < deadline:
        time.sleep(0.1)
        code, line = healthcheck(env)
    return code, line


@pytest.mark.parametrize("allowed,sent", [
    (".example.com", "example.com"),                      # a suffix pattern: its own name
    ("mathesar.example.com, data.example.org", "mathesar.example.com"),
    ("*", "127.0.0.1"),
    ("mathesar.example.com,127.0.0.1", "127.0.0.1"),     # the URL's host is accepted: kept
])
def test_healthcheck_keeps_working_when_allowed_hosts_is_restricted(external_env, allowed, sent):
    port = free_port()
    env = external_env(APP_PORT=port, ALLOWED_HOSTS=allowed, MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/")
    init = Init(["run", "--", *HOST_APP], env)
    init.wait_for("ALLOWED=")
    code, line = healthy_within(env)
    assert code == 0, line
    assert f"HOST={sent}:{port}" in init.output
    init.signal(signal.SIGTERM)
    init.wait()


def test_healthcheck_with_domain_name_only_uses_the_apps_default(external_env):
    port = free_port()
    env = external_env(APP_PORT=port, DOMAIN_NAME="https://mathesar.example.com", MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/")
    init = Init(["run", "--", *HOST_APP], env)
    init.wait_for("ALLOWED=")
    assert "ALLOWED=.localhost,127.0.0.1,[::1],mathesar.example.com" in init.output
    code, line = healthy_within(env)
    assert code == 0, line
    init.signal(signal.SIGTERM)
    init.wait()


def test_healthcheck_says_which_host_was_refused_and_what_to_set(external_env):
    port = free_port()
    env = external_env(APP_PORT=port, ALLOWED_HOSTS="mathesar.example.com", MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/")
    # The app itself is told other hosts than healthcheck reads (a settings file of its own, say).
    init = Init(["run", "--", "env", "ALLOWED_HOSTS=other.example.com", *HOST_APP], env)
    init.wait_for("ALLOWED=other.example.com")
    code, line = healthy_within(env)
    assert code == 1
    assert "answered 400 to Host: mathesar.example.com" in line and "ALLOWED_HOSTS" in line, line
    assert "\n" not in line
    init.signal(signal.SIGTERM)
    init.wait()
