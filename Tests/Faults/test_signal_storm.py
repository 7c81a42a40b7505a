"""Signal storm: thousands of mixed forwarded signals in a few
seconds while the app spawns and reaps children and makes orphans. No
signal kind may be lost: standard signals coalesce, but after the last one
of a kind was sent the app must handle that kind at least once more. No
zombie is left, and a SIGTERM afterwards stops everything within the
timeout."""
import os
import signal
import threading
import time

from faults import FAULT_APPS, SCALE, record, rng, wait_until, zombies
from harness import PYTHON, Init

KINDS = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU]
STOP_TIMEOUT = 5


def handled(record_file):
    """name -> list of handling times (monotonic, comparable across processes)."""
    result = {s.name: [] for s in KINDS}
    if record_file.exists():
        for line in record_file.read_text().splitlines():
            name, at = line.split()
            result[name].append(float(at))
    return result


def test_signal_storm_loses_no_signal_kind_leaves_no_zombie_and_stops_in_time(external_env, tmp_path):
    r = rng("signal-storm")
    record_file = tmp_path / "signals"
    init = Init(["run", "--", PYTHON, str(FAULT_APPS / "storm_app.py")],
                external_env(RECORD=record_file, MATHESAR_STOP_TIMEOUT=STOP_TIMEOUT))
    try:
        init.wait_for("storm app ready", timeout=30)
        pid1 = init.pid1
        fds_before = len(os.listdir(f"/proc/{pid1}/fd"))
        sent = {s.name: 0 for s in KINDS}
        last_sent = {}
        start = time.monotonic()
        for i in range(SCALE.signals):
            kind = r.choice(KINDS)
            last_sent[kind.name] = time.monotonic()  # taken before the send: handled later means handled after it
            init.signal(kind)
            sent[kind.name] += 1
            if i % 50 == 49:  # pace the storm evenly over its duration
                ahead = start + (i + 1) * SCALE.storm_seconds / SCALE.signals - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        storm_seconds = time.monotonic() - start

        def caught_up():
            seen = handled(record_file)
            return all(seen[name] and max(seen[name]) >= last_sent[name] for name in last_sent)
        assert wait_until(caught_up, timeout=15), {n: (last_sent[n], max(handled(record_file)[n] or [0])) for n in last_sent}
        # Children come and go all the time; none may stay a zombie.
        assert wait_until(lambda: not zombies(init), timeout=5), zombies(init)
        fds = sorted(os.listdir(f"/proc/{pid1}/fd"), key=int)
        assert len(fds) == fds_before, (fds_before, fds)
        # The storm goes on through the stop: it must not delay it.
        during_stop = threading.Event()

        def keep_storming():
            while not during_stop.is_set():
                try:
                    init.signal(r.choice(KINDS))
                except ProcessLookupError:
                    return
                time.sleep(0.0005)
        stormer = threading.Thread(target=keep_storming, daemon=True)
        stormer.start()
        time.sleep(0.2)
        stop = time.monotonic()
        init.signal(signal.SIGTERM)
        code = init.wait(STOP_TIMEOUT + 5)
        stop_seconds = time.monotonic() - stop
        during_stop.set()
        stormer.join(5)
    finally:
        init.kill()
    # 0 is the app's own exit on SIGTERM: it was not SIGKILLed at its deadline
    # (137), so the storm did not keep PID 1 from stopping it in time.
    assert code == 0, init.output
    assert "sending SIGKILL" not in init.output, init.output
    seen = handled(record_file)
    summary = next(line for line in init.output.splitlines() if "storm app:" in line)
    children = int(summary.split(", ")[1].split()[0])
    orphans = int(summary.split(", ")[2].split()[0])
    assert children > 0 and orphans > 0
    record("signal_storm", signals_sent=sum(sent.values()), storm_seconds=round(storm_seconds, 2),
           sent_by_kind=sent, handled_by_kind={k: len(v) for k, v in seen.items()},
           handled_total=sum(len(v) for v in seen.values()), kinds_lost=0,
           app_children_reaped=children, orphans_reaped_by_pid1=orphans, zombies_left=0, pid1_fd_leak=0,
           stop_seconds_after_storm=round(stop_seconds, 2), storm_during_stop=True)
