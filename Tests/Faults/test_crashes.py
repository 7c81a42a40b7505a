"""Crashes inside the container: the app killed by SIGKILL and by real
segmentation faults (restart with backoff, crash loop ends the container),
PostgreSQL's postmaster SIGKILLed while the app writes (restarted, no
acknowledged row lost), and the migrate command killed (exit 76, nothing
started, a clean cluster)."""
import os
import signal
import time
from pathlib import Path

from faults import (FAULT_APPS, SCALE, WRITER, DirectServer, acknowledged, bundled_env, kill_in_namespace, record, rng,
                    wait_until, zombies)
from harness import PYTHON, Init, signal_pid_if

CRASHER = [PYTHON, str(FAULT_APPS / "crasher.py")]


def starts(path):
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def service(volume, name):
    status = volume.status() or {"services": {}}
    return status["services"].get(name, {})


def test_app_killed_and_segfaulting_restarts_with_backoff_then_crash_loop(external_env, tmp_path):
    """Odd starts segfault on their own, even ones are SIGKILLed from outside:
    four restarts with doubling backoff, and the fifth exit within 60 s ends the
    container with 75. No zombie and no descriptor leak along the way."""
    record_file = tmp_path / "starts"
    init = Init(["run", "--", *CRASHER], external_env(STARTS=record_file, SELF_SEGV="1", CRASH_AFTER="0.2"))
    try:
        kills = {"SIGSEGV (real fault)": 0, "SIGKILL": 0}
        fds = None
        for n in range(1, 6):
            assert wait_until(lambda: len(starts(record_file)) >= n, timeout=20), init.output
            pid = int(starts(record_file)[n - 1][1])
            if n % 2 == 1:
                kills["SIGSEGV (real fault)"] += 1  # it faults by itself
            else:
                time.sleep(0.1)
                kill_in_namespace(init, pid, signal.SIGKILL)
                kills["SIGKILL"] += 1
            if n < 5:
                assert wait_until(lambda: init.output.count("restarting in") >= n, timeout=10), init.output
                line = [l for l in init.output.splitlines() if "restarting in" in l][n - 1]
                assert f"app killed by {'SIGSEGV' if n % 2 else 'SIGKILL'}" in line, line
                init.wait_for(f"app restarted \\(restart {n}\\)", timeout=10)
                assert not zombies(init), init.descendants()
                now = sorted(os.listdir(f"/proc/{init.pid1}/fd"), key=int)
                assert fds is None or now == fds, (fds, now)
                fds = now
        assert init.wait(20) == 75, init.output
    finally:
        init.kill()
    assert "crash loop: app exited 5 times within 60 s" in init.output
    times = [float(s[2]) for s in starts(record_file)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Each gap is the app's run time plus the backoff: 0.5, 1, 2, 4 s.
    for gap, backoff in zip(gaps, [0.5, 1, 2, 4]):
        assert gap >= backoff, gaps
    record("app_crash_loop", deaths=sum(kills.values()), deaths_by_signal=kills, restarts=4,
           backoff_gaps_s=[round(g, 2) for g in gaps], exit_code=75)


def test_app_segfault_with_restart_never_exits_139(external_env, tmp_path):
    init = Init(["run", "--", *CRASHER], external_env(STARTS=tmp_path / "s", SELF_SEGV="1", MATHESAR_RESTART="never"))
    try:
        assert init.wait(20) == 139, init.output
    finally:
        init.kill()


def test_app_killed_while_writing_loses_no_row_and_postgres_keeps_running(volume, tmp_path):
    r = rng("app-kills")
    ack = tmp_path / "ack"
    ack.mkdir()
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0))
    postmaster = None
    try:
        for n, signo in enumerate([signal.SIGSEGV, signal.SIGKILL, signal.SIGSEGV]):
            init.wait_for("app writer ready" if n == 0 else f"app restarted \\(restart {n}\\)", timeout=60)
            wait_until(lambda: service(volume, "app").get("state") == "running", timeout=10)
            postmaster = postmaster or service(volume, "postgres")["pid"]
            time.sleep(r.uniform(0.2, 0.8))
            kill_in_namespace(init, service(volume, "app")["pid"], signo)
        init.wait_for("app restarted \\(restart 3\\)", timeout=60)
        before = len(acknowledged(ack))
        assert wait_until(lambda: len(acknowledged(ack)) > before, timeout=20)
        assert service(volume, "postgres")["pid"] == postmaster and service(volume, "postgres")["restarts"] == 0
        init.signal(signal.SIGTERM)
        assert init.wait(20) == 143
    finally:
        init.kill()
    assert volume.controldata_state() == "shut down"
    with DirectServer(volume.pgdata) as server:
        present = {int(i) for i in server.psql("SELECT id FROM acked", "mathesar_django").split()}
    acked = acknowledged(ack)
    assert set(acked) <= present, sorted(set(acked) - present)[:10]
    record("app_kills_writing", kills=3, signals=["SIGSEGV", "SIGKILL", "SIGSEGV"], restarts=3, postgres_restarts=0,
           rows_checked=len(acked), rows_lost=len(set(acked) - present))


def test_postmaster_killed_while_the_app_writes_is_restarted_and_loses_nothing(volume, tmp_path):
    r = rng("postmaster-kills")
    ack = tmp_path / "ack"
    ack.mkdir()
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, RECONNECT="30"))
    try:
        init.wait_for("app writer ready", timeout=60)
        app_pid = service(volume, "app")["pid"]
        for n in range(1, SCALE.postmaster_kills + 1):
            time.sleep(r.uniform(0.3, 1.0))
            kill_in_namespace(init, service(volume, "postgres")["pid"], signal.SIGKILL)
            assert wait_until(lambda: service(volume, "postgres").get("restarts") == n
                              and init.output.count("database system is ready to accept connections") == n + 1,
                              timeout=60), init.output
            # The writer carries on through the new server.
            before = len(acknowledged(ack))
            assert wait_until(lambda: len(acknowledged(ack)) > before + 20, timeout=60), init.output
            assert not zombies(init), init.descendants()
        app_kept_running = service(volume, "app")["pid"] == app_pid
        init.signal(signal.SIGTERM)
        assert init.wait(20) == 143, init.output
    finally:
        init.kill()
    assert volume.controldata_state() == "shut down", init.output
    with DirectServer(volume.pgdata) as server:
        code, report = server.amcheck()
        present = {int(i) for i in server.psql("SELECT id FROM acked", "mathesar_django").split()}
    assert code == 0, report
    acked = acknowledged(ack)
    lost = set(acked) - present
    assert not lost, sorted(lost)[:10]
    record("postmaster_kills", kills=SCALE.postmaster_kills, postgres_restarts=SCALE.postmaster_kills,
           app_kept_running=app_kept_running, rows_checked=len(acked), rows_lost=len(lost), amcheck="clean")


def test_postmaster_crash_loop_exits_75_and_the_next_boot_has_every_row(volume, tmp_path):
    ack = tmp_path / "ack"
    ack.mkdir()
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, RECONNECT="60"))
    try:
        init.wait_for("app writer ready", timeout=60)
        kills = 0
        deadline = time.monotonic() + 90
        # Kill every postmaster that comes up until the restart budget is used up
        # (a restarted server that fails to start by itself counts as an exit too).
        while init.proc.poll() is None and time.monotonic() < deadline:
            postgres = service(volume, "postgres")
            if postgres.get("state") != "running":
                time.sleep(0.02)
                continue
            time.sleep(0.2)
            try:
                kill_in_namespace(init, postgres["pid"], signal.SIGKILL)
                kills += 1
            except LookupError:
                pass
            wait_until(lambda: init.proc.poll() is not None or service(volume, "postgres").get("pid") != postgres["pid"]
                       or service(volume, "postgres").get("state") != "running", timeout=30)
        assert init.wait(30) == 75, init.output
        assert "crash loop: postgres exited 5 times within 60 s" in init.output
    finally:
        init.kill()
    verify = tmp_path / "verify"
    again = Init(["run", "--", *WRITER], bundled_env(volume, ack, VERIFY_OUT=verify, MATHESAR_RESTART="never"))
    assert again.wait(60) == 0, again.output
    present = {int(i) for i in verify.read_text().split()}
    acked = acknowledged(ack)
    assert set(acked) <= present, sorted(set(acked) - present)[:10]
    assert 1 <= kills <= 5
    record("postmaster_crash_loop", kills=kills, exit_code=75, rows_checked=len(acked), rows_lost=len(set(acked) - present))


def migrate_pid(init):
    for pid, state, comm in init.descendants():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if any(a.endswith(b"writer.py") for a in argv) and b"SOURCE=migrate" not in argv:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if b"SOURCE=migrate" in environ:
                return pid
    return None


def test_migrate_command_killed_exits_76_without_starting_the_app(volume, tmp_path):
    ack = tmp_path / "ack"
    ack.mkdir()
    results = []
    for signo in (signal.SIGKILL, signal.SIGSEGV):
        migrate = f"env SOURCE=migrate ID_START={1_000_000 * (1 + len(results))} ROWS=100000 PAUSE=0.01 {' '.join(WRITER)}"
        init = Init(["run", "--", "sh", "-c", "echo app-ran; sleep 60"],
                    bundled_env(volume, ack, MATHESAR_MIGRATE_COMMAND=migrate))
        try:
            init.wait_for("migrate writer ready", timeout=60)
            time.sleep(0.3)
            pid = wait_until(lambda: migrate_pid(init), timeout=10)
            assert pid, init.descendants()
            signal_pid_if(pid, signo, lambda p: migrate_pid(init) == p)
            assert init.wait(30) == 76, init.output
        finally:
            init.kill()
        assert f"MATHESAR_MIGRATE_COMMAND killed by {signo.name}" in init.output, init.output
        assert "app-ran" not in init.output and "app: started" not in init.output
        assert volume.controldata_state() == "shut down"
        results.append(signo.name)
    # With a migrate command that completes, the next boot runs the app, and
    # what the killed migrations acknowledged is there.
    verify = tmp_path / "verify"
    again = Init(["run", "--", *WRITER], bundled_env(volume, ack, VERIFY_OUT=verify, MATHESAR_RESTART="never",
                                                     MATHESAR_MIGRATE_COMMAND=f"env SOURCE=migrate ID_START=9000000 ROWS=5 {' '.join(WRITER)}"))
    assert again.wait(60) == 0, again.output
    present = {int(i) for i in verify.read_text().split()}
    acked = acknowledged(ack)
    assert set(acked) <= present
    record("migrate_kills", kills=len(results), signals=results, exit_code=76, app_started=0,
           rows_checked=len(acked), rows_lost=len(set(acked) - present))
