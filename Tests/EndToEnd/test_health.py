"""`mathesar-init healthcheck` against a running PID 1."""
import re
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
    # The app's line about the request may reach PID 1's log after the answer reached healthcheck.
    init.wait_for(re.escape(f"HOST={sent}:{port}"))
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


# --- at boot: the host names users will open -------------------------------------

@pytest.fixture
def own_network(tmp_path):
    """A PID 1 in a network namespace of its own whose one non-loopback
    address is known: 203.0.113.7 and fd00::7 on a veth (no other interface
    of the machine shows). The database is reached over its Unix socket."""
    wrapper = tmp_path / "pid1-with-network"
    wrapper.write_text(
        "#!/bin/sh\nexec unshare --net -- sh -c '"
        "ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add 203.0.113.7/24 dev v0 && "
        "ip addr add fd00::7/64 dev v0 nodad && ip link set v1 up && ip link set v0 up || exit 70; "
        f'exec {INIT} "$@"\' sh "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def probe_env(pg_server, external_env, **extra):
    port = free_port()
    env = external_env(APP_PORT=port, MATHESAR_HEALTHCHECK_URL=f"http://127.0.0.1:{port}/", **extra)
    env["POSTGRES_HOST"] = str(pg_server.socket_dir)
    return env


@pytest.mark.parametrize("extra,refused,accepted", [
    # Mathesar's default ALLOWED_HOSTS: its own addresses get the silent 400 (Mathesar #4947).
    ({"DOMAIN_NAME": "https://mathesar.example.com"}, ["203.0.113.7 (this container's address)", "[fd00::7] (this container's address)"], ["mathesar.example.com"]),
    ({"ALLOWED_HOSTS": "127.0.0.1,203.0.113.7,[fd00::7]", "DOMAIN_NAME": "mathesar.example.com"}, ["mathesar.example.com (DOMAIN_NAME)"], ["203.0.113.7"]),
])
def test_boot_warns_when_the_app_refuses_the_names_users_will_open(pg_server, external_env, own_network, extra, refused, accepted):
    env = probe_env(pg_server, external_env, **extra)
    init = Init(["run", "--", *HOST_APP], env, binary=own_network)
    line = init.wait_for(r"hosts: the app answers 400").string
    for name in refused:
        assert name in line
    assert "Set ALLOWED_HOSTS to the names users open" in line
    for name in accepted:
        assert f"{name} (" not in line
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    for name in [r.split(" ")[0] for r in refused] + accepted:
        assert f"HOST={name}:" in init.output  # each name was asked once


def test_boot_says_nothing_when_the_app_accepts_them(pg_server, external_env, own_network):
    env = probe_env(pg_server, external_env, ALLOWED_HOSTS="*")
    init = Init(["run", "--", *HOST_APP], env, binary=own_network)
    init.wait_for(r"hosts: the app accepts requests for 203\.0\.113\.7, \[fd00::7\]")
    assert "answers 400" not in init.output
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
