"""Kill storm: boot, a writer committing numbered rows through the
app's environment, then SIGKILL of the whole PID namespace at a random moment
(first-boot initdb, boot, migration, the app writing, a stop in progress),
and a kill inside the copy of a template cluster.
After every cycle the next boot must work; after all of them every
acknowledged row is present, pg_amcheck is clean, and no temporary file or
directory of ours is left in the volume."""
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from faults import (SCALE, WRITER, DirectServer, acknowledged, add, bundled_env, leftovers, namespace_pid, record, rng,
                    wait_until)
from harness import INIT, Init, base_env, free_port, signal_pid_if

ROW_RANGE = 1_000_000
# Each moment is aimed at by waiting for what proves it has come (a file initdb
# makes, a line the app or PostgreSQL prints); only the wait after that is random.
MOMENTS = ["writing", "migration", "stop:app", "stop:postgres", "boot"]


def plan_moments(r):
    rest = SCALE.kill_cycles - SCALE.initdb_kills
    moments = (MOMENTS * (rest // len(MOMENTS) + 1))[:rest]
    r.shuffle(moments)
    return ["initdb"] * SCALE.initdb_kills + moments


def migrate_command(cycle, rows, pause):
    start = cycle * 2 * ROW_RANGE + ROW_RANGE
    return f"env SOURCE=migrate ID_START={start} ROWS={rows} PAUSE={pause} {' '.join(WRITER)}"


def phase(volume):
    status = volume.status() or {}
    return status.get("phase", "before-status")


# What initdb has made so far, in the order it makes it: kills land between these.
INITDB_MARKS = ["", "postgresql.conf", "global/pg_control", "base/1/PG_VERSION", "base/4", "base/5"]


def freeze_initdb(init):
    """SIGSTOPs initdb, so that it cannot finish (and boot cannot rename its
    directory into place) before the test acts; waits for it to be exec'd
    (boot makes the directory first, then spawns it). Its pid, or None when
    PID 1 exited first."""
    def stopped():
        for pid, _, comm in init.descendants():
            if comm == "initdb":
                try:
                    signal_pid_if(pid, signal.SIGSTOP, lambda p: p in {d[0] for d in init.descendants()})
                    return pid
                except ProcessLookupError:
                    return None
        return None
    pid = wait_until(lambda: stopped() or init.proc.poll() is not None, timeout=30, interval=0.001)
    return pid if isinstance(pid, int) and pid is not True else None


def kill_initdb(init, volume, r, attempt):
    temporary = volume.data / "postgres.initdb-incomplete"
    mark = temporary / INITDB_MARKS[attempt % len(INITDB_MARKS)]
    assert wait_until(lambda: mark.exists() or init.proc.poll() is not None, timeout=30, interval=0.001), init.output
    if attempt == 0:
        freeze_initdb(init)  # the first kill lands inside initdb for certain
    else:
        time.sleep(r.uniform(0, 0.02))
    init.kill()
    return "initdb" if temporary.exists() else "after-initdb:" + phase(volume)


def kill_during_stop(init, volume, r, target):
    """SIGTERM, then SIGKILL while the app is being stopped (the app holds on
    after SIGTERM, and the stop budget is long, so PID 1 is still waiting for
    it), or once PostgreSQL has begun its fast shutdown."""
    init.wait_for("app writer ready", timeout=60)
    time.sleep(r.uniform(0.05, 0.6))
    init.signal(signal.SIGTERM)
    init.wait_for("app writer stopping" if target == "app" else "received fast shutdown request", timeout=60)
    init.kill()
    init.wait()
    if "exiting with status" in init.output:  # PID 1 was done before the SIGKILL
        return "stop:finished-first"
    if volume.controldata_state() == "shut down":
        return "stop:postgres-stopped"  # its shutdown checkpoint was complete
    if "received fast shutdown request" in init.output:
        return "stop:postgres-stopping"
    return "stop:app-stopping"


def test_kill_storm_loses_no_acknowledged_commit(volume, tmp_path):
    r = rng("kill-storm")
    ack = tmp_path / "ack"  # the ledger lives outside the volume
    ack.mkdir()
    landed = {}
    started = time.monotonic()
    for cycle, moment in enumerate(plan_moments(r)):
        if moment == "initdb" and (volume.pgdata / "PG_VERSION").exists():
            moment = "boot"  # an earlier kill landed just after initdb: there is a cluster now
        long_migration = moment == "migration"
        hold = {"TERM_HOLD": "1", "MATHESAR_STOP_TIMEOUT": "60"} if moment == "stop:app" else {}
        env = bundled_env(volume, ack, ID_START=cycle * 2 * ROW_RANGE,
                          MATHESAR_MIGRATE_COMMAND=migrate_command(cycle, rows=400 if long_migration else r.randint(1, 5),
                                                                   pause=0.03 if long_migration else 0), **hold)
        init = Init(["run", "--", *WRITER], env)
        try:
            if moment == "initdb":
                hit = kill_initdb(init, volume, r, cycle)
            elif moment == "boot":
                time.sleep(r.uniform(0, 1.2))
                init.kill()
                hit = "boot:" + phase(volume)
            elif moment == "migration":
                assert wait_until(lambda: any(ack.glob(f"ack-migrate-{cycle * 2 * ROW_RANGE + ROW_RANGE}-*"))
                                  or init.proc.poll() is not None, timeout=60), init.output
                time.sleep(r.uniform(0, 0.8))
                init.kill()
                hit = "migration" if phase(volume) == "migrate" else "after-migration:" + phase(volume)
            elif moment == "writing":
                init.wait_for("app writer ready", timeout=60)
                time.sleep(r.uniform(0, 1.5))
                init.kill()
                hit = "writing"
            else:
                hit = kill_during_stop(init, volume, r, moment.split(":")[1])
        finally:
            init.kill()
        assert init.proc.poll() is not None
        landed[hit] = landed.get(hit, 0) + 1
    storm_seconds = time.monotonic() - started

    # Every moment the issue names was hit at least once.
    assert landed.get("initdb", 0) >= 1, str(landed)
    assert landed.get("migration", 0) >= 1, str(landed)
    assert landed.get("stop:app-stopping", 0) >= 1, str(landed)

    # A last, clean boot reads every row through the app's environment.
    verify = tmp_path / "verify"
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, VERIFY_OUT=verify, MATHESAR_RESTART="never"))
    assert init.wait(120) == 0, init.output
    assert volume.controldata_state() == "shut down"
    present = {int(line) for line in verify.read_text().split()}
    acked = acknowledged(ack)
    missing = sorted(set(acked) - present)
    assert len(acked) == len(set(acked)), "an id was acknowledged twice"
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {missing[:10]}"

    with DirectServer(volume.pgdata) as server:
        code, report = server.amcheck()
        databases = server.databases()
        direct_count = int(server.psql("SELECT count(*) FROM acked", "mathesar_django"))
    assert code == 0, report
    assert direct_count == len(present)
    left = leftovers(volume.root)
    assert not left, left
    assert volume.controldata_state() == "shut down"

    record("kill_storm", cycles=SCALE.kill_cycles, kills_by_moment=dict(sorted(landed.items())),
           rows_acknowledged=len(acked), rows_checked=len(present), rows_lost=len(missing),
           rows_committed_unacknowledged=len(present - set(acked)),
           amcheck=f"clean ({len(databases)} databases, heap + btree with heapallindexed, rootdescend)",
           leftover_temporaries=len(left), storm_seconds=round(storm_seconds, 1))


@pytest.mark.parametrize("mark", INITDB_MARKS[:5], ids=["start", "config", "bootstrap", "template1", "template0"])
def test_stop_during_first_boot_initdb_leaves_nothing_then_boots(volume, tmp_path, mark):
    """An orderly stop (SIGTERM) in the middle of first-boot initdb: exit 143,
    no temporary directory and no partial cluster left; the next boot works."""
    ack = tmp_path / "ack"
    ack.mkdir()
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=5, MATHESAR_RESTART="never"))
    temporary = volume.data / "postgres.initdb-incomplete"
    try:
        assert wait_until(lambda: (temporary / mark).exists() or init.proc.poll() is not None, timeout=30,
                          interval=0.001), init.output
        # initdb is held still while the stop is asked for, so the SIGTERM
        # lands inside it whatever the machine's speed; it gets it on SIGCONT.
        frozen = freeze_initdb(init)
        assert frozen, "initdb was not running at its mark:\n" + init.output
        init.signal(signal.SIGTERM)
        init.wait_for("stopping initdb", timeout=20)
        try:
            signal_pid_if(frozen, signal.SIGCONT, lambda p: True)
        except ProcessLookupError:
            pass  # PID 1 already SIGKILLed it (the stop's deadline): a stop as good as any
        assert init.wait(20) == 143, init.output
    finally:
        init.kill()
    assert "stopping initdb" in init.output, init.output
    assert not leftovers(volume.root), leftovers(volume.root)
    assert not volume.pgdata.exists()
    init = Init(["run", "--", *WRITER], bundled_env(volume, ack, ID_START=0, ROWS=5, MATHESAR_RESTART="never"))
    assert init.wait(60) == 0, init.output
    assert "created a PostgreSQL 15 cluster" in init.output
    add("stop_during_initdb", stops=1)
    record("stop_during_initdb", exit_code=143, temporaries_left=0)


# Which copy_file_range call of the template copy gets a SIGSTOP injected
# (strace -e inject): a point inside the copy that does not depend on timing.
COPY_STOP_CALLS = [1, 300, 900]


def template_for_faults(root):
    """A template made by prepare (no migrate command: only the cluster matters here)."""
    env = base_env(MATHESAR_TEMPLATE_DIR=root / "template", POSTGRES_PORT=free_port())
    init = Init(["prepare"], env)
    assert init.wait(180) == 0, init.output
    return root / "template"


@pytest.mark.parametrize("call", COPY_STOP_CALLS, ids=[f"call-{n}" for n in COPY_STOP_CALLS])
def test_kill_inside_the_template_copy_leaves_no_half_cluster_then_boots_from_it(volume, tmp_path, call):
    """First boot from a template, frozen by an injected SIGSTOP at the Nth
    copy_file_range of the copy, then the whole PID namespace SIGKILLed:
    PGDATA holds no cluster (only the temporary sibling does), and the next
    boot removes it, copies the template again and boots."""
    root = Path(tempfile.mkdtemp(prefix="msi-faults-template-"))
    os.chmod(root, 0o755)
    ack = tmp_path / "ack"
    ack.mkdir()
    try:
        template = template_for_faults(root)
        files = sum(1 for p in (template / "cluster").rglob("*") if p.is_file())
        env = bundled_env(volume, ack, ID_START=0, ROWS=5, MATHESAR_RESTART="never", MATHESAR_TEMPLATE_DIR=template)
        temporary = volume.data / "postgres.initdb-incomplete"
        trace = tmp_path / "strace.log"
        traced = Init(["-f", "-qq", "-o", str(trace), "-e", "trace=copy_file_range",
                       "-e", f"inject=copy_file_range:signal=SIGSTOP:when={call}",
                       "unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(INIT), "run", "--", *WRITER],
                      env, namespace=False, binary=shutil.which("strace"))
        try:
            # strace says so once the copier is in its group stop (a ptrace stop
            # of each traced call looks the same in /proc).
            def stopped():
                return trace.exists() and "stopped by SIGSTOP" in trace.read_text()
            assert wait_until(lambda: stopped() or traced.proc.poll() is not None, timeout=120,
                              interval=0.01), traced.output
            assert traced.proc.poll() is None, traced.output
            copied = sum(1 for p in temporary.rglob("*") if p.is_file())
            assert 0 < copied < files, (copied, files)
            assert not volume.pgdata.exists(), "a cluster appeared in PGDATA before the copy was complete"
            pid1 = next(pid for pid, _, comm in traced.descendants() if comm == "mathesar-init"
                        and namespace_pid(pid) == 1)
            signal_pid_if(pid1, signal.SIGKILL, lambda p: namespace_pid(p) == 1)
            traced.proc.wait(30)
        finally:
            traced.kill()
        assert not volume.pgdata.exists() and temporary.exists()
        init = Init(["run", "--", *WRITER], env)
        assert init.wait(120) == 0, init.output
        assert "removed what an interrupted first boot left" in init.output, init.output
        assert "created the PostgreSQL 15 cluster from the template" in init.output, init.output
        assert not leftovers(volume.root), leftovers(volume.root)
        assert volume.controldata_state() == "shut down"
        with DirectServer(volume.pgdata) as server:
            code, report = server.amcheck()
        assert code == 0, report
    finally:
        shutil.rmtree(root, ignore_errors=True)
    add("kill_inside_template_copy", kills=1)
    record(f"kill_inside_template_copy_call_{call}", files_copied_before_the_kill=copied, template_files=files)
