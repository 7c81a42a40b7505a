"""Resources: the volume on a small tmpfs that fills up during initdb
and during a migration (clear error, exit code from the contract, nothing
half-made, next boot with space succeeds); an open-file limit of 64 for PID 1;
a read-only volume."""
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from faults import (FAULT_APPS, SCALE, WRITER, DirectServer, Tmpfs, acknowledged, add, bundled_env, leftovers, record,
                    run_to_end, wait_until)
from harness import INIT, PYTHON, Init, Volume

FILLER = f"{PYTHON} {FAULT_APPS / 'filler.py'}"


@pytest.fixture
def volumes():
    """Fresh volumes (the harness's `volume`, several times), unmounted and removed at the end."""
    made, mounts = [], []

    def make():
        root = Path(tempfile.mkdtemp(prefix="msi-faults-vol-"))
        os.chmod(root, 0o755)
        made.append(root)
        return Volume(root)
    make.mounts = mounts
    yield make
    for mount in reversed(mounts):
        mount.unmount()
    for root in made:
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def state_of(volume):
    """Everything below the data directory: proves a failed boot left nothing half-made."""
    return sorted(str(p.relative_to(volume.data)) for p in volume.data.rglob("*"))


LAYOUTS = ["volume-is-the-mount", "pgdata-is-the-mount"]


def test_volume_full_during_initdb_leaves_nothing_half_made_and_the_next_boot_succeeds(volumes, tmp_path):
    # Sizes in KiB: 4 KiB cannot even hold the generated secrets; the rest fill up inside initdb.
    cases = [(4, LAYOUTS[0])] + [(mib * 1024, LAYOUTS[i % 2]) for i, mib in enumerate(SCALE.tmpfs_initdb_sizes)]
    outcomes = []
    for kib, layout in cases:
        volume = volumes()
        ack = tmp_path / f"ack-{kib}-{layout}"
        ack.mkdir()
        mount_point = volume.data if layout == LAYOUTS[0] else volume.pgdata
        fs = Tmpfs(mount_point, 1)
        volumes.mounts.append(fs)
        subprocess.run(["mount", "-o", f"remount,size={kib}k", str(mount_point)], check=True)
        code, init = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=10,
                                                                      MATHESAR_RESTART="never"))
        assert code == 73, init.output
        assert "No space left on device" in init.output, init.output
        assert "exiting with status 73" in init.output
        # Nothing half-made: no cluster, no temporary directory, no temporary file.
        assert not leftovers(volume.root), leftovers(volume.root)
        assert not (volume.pgdata / "PG_VERSION").exists()
        assert not volume.pgdata.exists() or os.listdir(volume.pgdata) == [], os.listdir(volume.pgdata)
        fs.resize(256)
        code, again = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=10,
                                                                       MATHESAR_RESTART="never"))
        assert code == 0, again.output
        assert "created a PostgreSQL 15 cluster" in again.output
        assert len(acknowledged(ack)) >= 10
        assert not leftovers(volume.root)
        outcomes.append(f"{kib // 1024} MiB" if kib >= 1024 else f"{kib} KiB")
    record("volume_full_initdb", sizes_tried=outcomes, layouts=LAYOUTS, exit_code=73, half_made_left=0,
           next_boot_with_space="succeeded every time")


def test_volume_full_during_a_migration_exits_76_and_the_next_boot_with_space_has_every_commit(volumes, tmp_path):
    volume = volumes()
    ack = tmp_path / "ack"
    ack.mkdir()
    fs = Tmpfs(volume.data, 96)
    volumes.mounts.append(fs)
    code, init = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=50, MATHESAR_RESTART="never"))
    assert code == 0, init.output
    code, init = run_to_end(["run", "--", "sh", "-c", "echo app-ran"],
                            bundled_env(volume, ack, MATHESAR_MIGRATE_COMMAND=FILLER, MATHESAR_STOP_TIMEOUT="5"))
    assert code == 76, init.output
    assert "MATHESAR_MIGRATE_COMMAND exited with status 1" in init.output
    assert "No space left on device" in init.output
    assert "app-ran" not in init.output
    full = subprocess.run(["df", "--output=pcent", str(volume.data)], capture_output=True, text=True).stdout.split()[-1]
    fs.resize(512)
    verify = tmp_path / "verify"
    code, again = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, VERIFY_OUT=verify, MATHESAR_RESTART="never"))
    assert code == 0, again.output
    present = {int(i) for i in verify.read_text().split()}
    acked = acknowledged(ack)
    assert set(acked) <= present
    with DirectServer(volume.pgdata) as server:
        amcheck, report = server.amcheck()
        batches = dict(tuple(map(int, line.split("|"))) for line in
                       server.psql("SELECT batch, count(*) FROM filler GROUP BY batch", "mathesar_django").split())
    assert amcheck == 0, report
    acked_batches = [int(line) for p in ack.glob("fill-*.log") for line in p.read_text().split()]
    assert acked_batches and set(acked_batches) <= set(batches)
    # Each migration transaction is all there or not at all.
    assert set(batches.values()) == {8}, batches
    assert not leftovers(volume.root)
    record("volume_full_migration", volume_used_at_failure=full, exit_code=76, batches_committed=len(batches),
           half_written_batches=0, rows_checked=len(acked), rows_lost=len(set(acked) - present), amcheck="clean",
           next_boot_with_space="succeeded")


def prlimited(args, env, nofile):
    return Init([f"--nofile={nofile}:{nofile}", "--", str(INIT), *args], env, binary="/usr/bin/prlimit")


def test_open_file_limit_of_64_boots_restarts_and_stops_cleanly(volume, tmp_path):
    ack = tmp_path / "ack"
    ack.mkdir()
    init = prlimited(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0), 64)
    try:
        init.wait_for("app writer ready", timeout=60)
        limits = Path(f"/proc/{init.pid1}/limits").read_text()
        assert any(line.startswith("Max open files") and line.split()[3:5] == ["64", "64"] for line in limits.splitlines())
        status = volume.status()
        for n in range(1, 4):  # app restarts open new pipes each time
            from faults import kill_in_namespace
            kill_in_namespace(init, status["services"]["app"]["pid"], signal.SIGKILL)
            init.wait_for(f"app restarted \\(restart {n}\\)", timeout=30)
            assert wait_until(lambda: (volume.status() or {}).get("services", {}).get("app", {}).get("state") == "running")
            status = volume.status()
        open_fds = len(os.listdir(f"/proc/{init.pid1}/fd"))
        before = len(acknowledged(ack))
        assert wait_until(lambda: len(acknowledged(ack)) > before, timeout=30)
        init.signal(signal.SIGTERM)
        assert init.wait(20) == 143, init.output
    finally:
        init.kill()
    assert volume.controldata_state() == "shut down"
    assert "Too many open files" not in init.output
    record("fd_limit", limit=64, pid1_open_fds=open_fds, app_restarts=3, clean_stop=True)


@pytest.mark.parametrize("nofile", [4, 5, 8])
def test_a_tiny_open_file_limit_is_reported_as_such(volume, tmp_path, nofile):
    code = None
    init = prlimited(["run", "--", *WRITER], bundled_env(volume, tmp_path), nofile)
    code = init.wait(30)
    assert code == 70, init.output
    assert "open-file limit" in init.output and f"is {nofile}" in init.output, init.output
    assert not volume.data.exists()


@pytest.fixture
def read_only(volume):
    """Makes a path read-only with a read-only bind mount of itself."""
    mounted = []

    def make(path):
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        mounted.append(path)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", str(path)], check=False)


@pytest.mark.parametrize("what", ["data", "pgdata"])
def test_read_only_volume_with_a_cluster_exits_73_and_changes_nothing(volume, tmp_path, read_only, what):
    ack = tmp_path / "ack"
    ack.mkdir()
    code, init = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=20, MATHESAR_RESTART="never"))
    assert code == 0, init.output
    read_only(volume.data if what == "data" else volume.pgdata)
    before = volume.snapshot()
    code, init = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=1_000_000, MATHESAR_RESTART="never"))
    assert code == 73, init.output
    assert "read-only" in init.output
    assert str(volume.data if what == "data" else volume.pgdata) in init.output
    assert "app: started" not in init.output
    assert volume.snapshot() == before
    add("read_only", boots_refused=1)
    record("read_only", exit_code=73, changed_entries=0)


FILL_THEN_EXIT = ("import os, psycopg; "
                  "c = psycopg.connect(host=os.environ['POSTGRES_HOST'], port=os.environ['POSTGRES_PORT'], "
                  "dbname=os.environ['POSTGRES_DB'], user=os.environ['POSTGRES_USER'], "
                  "password=os.environ['POSTGRES_PASSWORD'], autocommit=True); "
                  "c.execute('CREATE DATABASE made_before_the_disk_filled'); c.close(); "
                  "f = open(os.environ['MATHESAR_DATA_DIR'] + '/media/ballast', 'wb'); "
                  "exec('try:\\n while True: f.write(os.urandom(1 << 16)); f.flush()\\nexcept OSError as e: print(\"volume full:\", e, flush=True)')")


def test_volume_full_at_shutdown_is_reported_and_the_next_boot_recovers(volumes, tmp_path):
    """A database made just before the volume fills is written out only by the
    shutdown checkpoint, which then fails: PostgreSQL exits with an error
    instead of a clean shutdown. PID 1 must say so (the next start runs crash
    recovery), and the next boot with space must have everything."""
    volume = volumes()
    ack = tmp_path / "ack"
    ack.mkdir()
    fs = Tmpfs(volume.data, 128)
    volumes.mounts.append(fs)
    code, init = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=50, MATHESAR_RESTART="never"))
    assert code == 0, init.output
    code, init = run_to_end(["run", "--", PYTHON, "-c", FILL_THEN_EXIT], bundled_env(volume, ack, MATHESAR_RESTART="never"))
    assert "volume full:" in init.output, init.output
    assert code == 0, init.output  # the app's status
    assert volume.controldata_state() != "shut down"  # PostgreSQL could not finish its shutdown checkpoint
    assert "PostgreSQL did not shut down cleanly" in init.output, init.output
    (volume.data / "media" / "ballast").unlink()
    verify = tmp_path / "verify"
    code, again = run_to_end(["run", "--", *WRITER], bundled_env(volume, ack, VERIFY_OUT=verify, MATHESAR_RESTART="never"))
    assert code == 0, again.output
    assert set(acknowledged(ack)) <= {int(i) for i in verify.read_text().split()}
    with DirectServer(volume.pgdata) as server:
        amcheck, report = server.amcheck()
        assert "made_before_the_disk_filled" in server.databases()
    assert amcheck == 0, report
    record("volume_full_shutdown", unclean_shutdown_reported=True, next_boot_with_space="succeeded", amcheck="clean")
