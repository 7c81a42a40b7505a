"""Signals to the app's main process: a stop reaches gunicorn's master only,
so that it stops its own workers, which finish their requests; what a main
process leaves in its group is SIGKILLed before a restart."""
import signal
import threading
import time
import urllib.request

import pytest

from harness import APPS, PYTHON, Init, free_port

STOPS = 20


def gunicorn(port, workers=3):
    return [PYTHON, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--no-control-socket", "--chdir", str(APPS), "wsgi_gate:application"]


def gate_env(external_env, tmp_path, **extra):
    return external_env(GATE_STARTED=tmp_path / "started", GATE_OPEN=tmp_path / "open",
                        GATE_BOOTED=tmp_path / "booted", **extra)


def wait_for_workers(init, tmp_path, count):
    """Until `count` workers have loaded the app: past gunicorn's own window
    in which a worker still has the master's signal handlers."""
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("booted.*"))) < count:
        assert time.monotonic() < deadline and init.proc.poll() is None, init.output
        time.sleep(0.01)


@pytest.mark.parametrize("stop", range(STOPS))
def test_a_stop_reaches_gunicorns_master_only_and_no_worker_is_sent_sigterm(external_env, tmp_path, stop):
    port = free_port()
    init = Init(["run", "--", *gunicorn(port)], gate_env(external_env, tmp_path))
    with init:
        wait_for_workers(init, tmp_path, 3)
        init.signal(signal.SIGTERM)
        code = init.wait()
    assert code == 0, init.output  # gunicorn's master exits 0 after a graceful stop
    assert "was sent SIGTERM" not in init.output
    assert "Handling signal: term" in init.output
    assert "did not stop within" not in init.output


def test_a_request_in_flight_when_the_stop_begins_completes(external_env, tmp_path):
    port = free_port()
    started, gate = tmp_path / "started", tmp_path / "open"
    init = Init(["run", "--", *gunicorn(port)], gate_env(external_env, tmp_path))
    with init:
        wait_for_workers(init, tmp_path, 3)
        init.wait_for(r"Listening at: http://127\.0\.0\.1")
        answer = {}

        def request():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=60) as r:
                    answer["status"], answer["body"] = r.status, r.read()
            except Exception as e:  # noqa: BLE001 - reported below
                answer["error"] = repr(e)

        client = threading.Thread(target=request)
        client.start()
        while not started.exists():
            client.join(0.01)
            assert client.is_alive(), answer
        init.signal(signal.SIGTERM)
        # The master has the stop and has passed it to its workers before the request may end.
        init.wait_for(r"Handling signal: term")
        gate.touch()
        client.join(30)
        code = init.wait()
    assert answer.get("status") == 200 and answer.get("body") == b"ok\n", (answer, init.output)
    assert code == 0, init.output
    assert "was sent SIGTERM" not in init.output


def test_a_grandchild_left_in_the_apps_group_is_killed_before_the_restart(external_env, tmp_path):
    state = tmp_path / "state"
    init = Init(["run", "--", str(APPS / "leaves_grandchild.py"), str(state), "1"], external_env(MATHESAR_RESTART="on-failure"))
    assert init.wait() == 0, init.output
    assert "app restarted (restart 1)" in init.output
    assert "grandchild gone" in init.output, init.output


def test_a_grandchild_left_by_the_migrate_command_is_killed_before_the_app_starts(external_env, tmp_path):
    state = tmp_path / "state"
    command = f"{APPS / 'leaves_grandchild.py'} {state} 0"
    init = Init(["run", "--", str(APPS / "leaves_grandchild.py"), str(state)],
                external_env(MATHESAR_RESTART="never", MATHESAR_MIGRATE_COMMAND=command))
    assert init.wait() == 0, init.output
    assert "grandchild gone" in init.output, init.output
