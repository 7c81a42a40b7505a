"""Two containers racing for one volume at the same millisecond:
two PID 1s (each in its own PID namespace) released at the same instant on
one fresh volume, many times. Exactly one must win every time; the other
exits 73 at once, having changed nothing."""
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

from faults import FAULT_APPS, SCALE, leftovers, record
from harness import INIT, PYTHON, Init, Volume, free_port

LAUNCHER = str(FAULT_APPS / "at_instant.py")


def release_both(env, at):
    return [Init([LAUNCHER, f"{at:.6f}", str(INIT), "run", "--", "sleep", "60"], env, binary=PYTHON) for _ in range(2)]


def exec_time(init):
    m = re.search(r"exec at ([0-9.]+)", init.output)
    return float(m.group(1)) if m else None


def test_two_containers_racing_for_one_volume_exactly_one_wins(pg_server):
    spreads, outcomes = [], {"one winner": 0}
    bundled_every = max(1, SCALE.races // max(1, SCALE.bundled_races))
    bundled_tries = 0
    for attempt in range(SCALE.races):
        root = Path(tempfile.mkdtemp(prefix="msi-faults-race-"))
        os.chmod(root, 0o755)
        volume = Volume(root)
        bundled = attempt % bundled_every == 0 and bundled_tries < SCALE.bundled_races
        bundled_tries += bundled
        if bundled:
            env = volume.env(POSTGRES_PORT=free_port())
        else:
            env = pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db")
        racers = release_both(env, time.time() + 0.6)
        try:
            # The loser exits 73 at once; the winner boots and runs the app.
            deadline = time.monotonic() + 60
            while all(r.proc.poll() is None for r in racers) and time.monotonic() < deadline:
                time.sleep(0.01)
            losers = [r for r in racers if r.proc.poll() is not None]
            assert len(losers) == 1, [r.output for r in racers]
            loser = losers[0]
            winner = next(r for r in racers if r is not loser)
            assert loser.wait() == 73, loser.output
            assert "in use by another mathesar-init" in loser.output, loser.output
            winner.wait_for("app: started", timeout=60)
            assert winner.proc.poll() is None
            spreads.append(abs(exec_time(racers[0]) - exec_time(racers[1])))
            winner.signal(signal.SIGTERM)
            assert winner.wait(20) == 143, winner.output
            assert not leftovers(root)
            if bundled:
                assert volume.controldata_state() == "shut down"
            outcomes["one winner"] += 1
        finally:
            for r in racers:
                r.kill()
            shutil.rmtree(root, ignore_errors=True)
    spreads.sort()
    record("volume_race", tries=SCALE.races, bundled_first_boot_tries=bundled_tries, exactly_one_winner=outcomes["one winner"],
           loser_exit_code=73, release_spread_ms_median=round(spreads[len(spreads) // 2] * 1000, 3),
           release_spread_ms_max=round(spreads[-1] * 1000, 3))
