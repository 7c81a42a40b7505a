"""`./dev test`'s summary: every stage's count read from the stage's own
closing line, failures and skips counted, a stage that crashed without a
count of its own counted as one failure."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from harness import REPO, base_env, free_port

SWIFT_PASSED = "✔ Test run with 173 tests in 5 suites passed after 0.352 seconds.\n"
SWIFT_FAILED = ("✘ Test parsesPorts() recorded an issue at ConfigurationTests.swift:12:5: Expectation failed\n"
                "✘ Test parsesPorts() failed after 0.010 seconds with 1 issue.\n"
                "✘ Test run with 173 tests in 5 suites failed after 0.352 seconds with 1 issue.\n")


def counts(stage, log_text, tmp_path):
    log = tmp_path / "stage.log"
    log.write_text(log_text)
    r = subprocess.run(["bash", "-c", f'source "{REPO}/dev"; stage_counts "$1" "$2"', "_", stage, str(log)],
                       capture_output=True, text=True, check=True)
    return tuple(int(n) for n in r.stdout.split())


def test_swift_testing_counts(tmp_path):
    assert counts("swift test", SWIFT_PASSED, tmp_path) == (173, 0)
    assert counts("swift test", SWIFT_FAILED, tmp_path) == (172, 1)


def test_pytest_counts_quiet_and_framed_closing_lines(tmp_path):
    assert counts("end-to-end", "....\n150 passed in 80.12s (0:01:20)\n", tmp_path) == (150, 0)
    assert counts("faults (ci)", "F.\n===== 3 failed, 150 passed in 80.12s =====\n", tmp_path) == (150, 3)


def test_skips_and_errors_count_as_failures(tmp_path):
    assert counts("end-to-end", "2 failed, 10 passed, 1 skipped, 2 errors in 9.00s\n", tmp_path) == (10, 5)


def test_image_and_bench_counts(tmp_path):
    assert counts("image test", "PASS: a\nFAIL: b\n36 passed, 1 failed\n", tmp_path) == (36, 1)
    assert counts("bench smoke", "bench smoke: ok\n", tmp_path) == (1, 0)
    assert counts("bench smoke", "Traceback ...\n", tmp_path) == (0, 1)


def test_a_stage_without_a_closing_line_counts_nothing_by_itself(tmp_path):
    # `stage` then counts its non-zero exit as one failure.
    assert counts("end-to-end", "ImportError while loading conftest\n", tmp_path) == (0, 0)


def test_every_stage_runs_after_a_failure_and_the_total_says_so(tmp_path):
    script = f'''
source "{REPO}/dev"
LOGS="{tmp_path}"
stage "end-to-end" "{tmp_path}/a.log" bash -c 'echo "1 failed, 2 passed in 1.00s"; exit 1'
stage "bench smoke" "{tmp_path}/b.log" bash -c 'echo "bench smoke: ok"'
stage "faults (ci)" "{tmp_path}/c.log" bash -c 'echo crashed; exit 3'
printf '%s\\n' "${{SUMMARY[@]}}"
echo "total: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
'''
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    lines = r.stdout.splitlines()
    assert lines[-1] == "total: 3 passed, 2 failed", r.stdout
    assert any(l.startswith("end-to-end:") and "2 passed, 1 failed" in l and "exit 1" in l for l in lines), r.stdout
    assert any(l.startswith("faults (ci):") and "0 passed, 1 failed" in l and "exit 3" in l for l in lines), r.stdout
    assert any(l.startswith("bench smoke:") and "every figure ran" in l for l in lines), r.stdout


def demo_answers(port):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_demo_stops_on_kill_and_kill_int_of_its_pid(volume, signo):
    """`kill PID` and `kill -INT PID` of `./dev demo` (the pid it prints) stop it
    cleanly, and the stop says how long it took."""
    port = free_port()
    # A generous stop budget: what is asserted is that the signal reaches it and the stop is
    # clean, not how fast five gunicorn workers exit on a loaded machine (6.3 s was seen).
    env = volume.env(PORT=port, POSTGRES_PORT=free_port(), MATHESAR_STOP_TIMEOUT="60")
    demo = subprocess.Popen([str(REPO / "dev"), "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while demo_answers(port) is None:
            assert demo.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        printed = next(l for l in lines if l.startswith("demo: pid "))
        assert f"demo: pid {demo.pid}," in printed  # the pid it tells the user to kill is its own
        os.kill(demo.pid, signo)
        assert demo.wait(90) == 0, "".join(lines)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    reader.join(5)
    output = "".join(lines)
    assert f"{signal.Signals(signo).name} received, stopping" in output, output
    assert "database system is shut down" in output, output
    assert re.search(r"exiting with status 0 \(stopped in [0-9.]+ m?s\)", output), output
