"""Faults inside a major-version upgrade (PostgreSQL 15 -> 17, what a volume
of Mathesar's 0.1.x image holds under a PostgreSQL 17 image): SIGKILLs of the
whole PID namespace aimed at each step of the upgrade journal, in copy, clone
and link modes; a SIGTERM during pg_upgrade; the volume filling up at each
step before the swap. Each kill is aimed by waiting for the journal
(`postgres.upgrade.json`) to name the step, then killing at once (and, at
full scale, again after a random part of the step), so every named step is
hit on purpose; where each kill landed is read back from the journal. After
each fault, a boot must finish (or undo and redo) the upgrade with every
acknowledged row, leave nothing beside PGDATA, and pass pg_amcheck."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from faults import SCALE, DirectServer, Tmpfs, add, record, rng, wait_until
from harness import REPO, Init, Volume, free_port
from kit.xfs import XfsLoop

PG15 = Path("/usr/lib/postgresql/15/bin")
PG17 = Path(os.environ.get("MSI_TEST_PG17_BINDIR", REPO / ".cache" / "pg" / "17" / "bin"))
PSQL = PG15 / "psql"
ROWS = 20000
APP = ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec "$MSI_PSQL" -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" '
                   '-U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -tA -F "|" -c "$MSI_SQL"']
WRITE = (f"CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL); "
         f"INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, {ROWS}) i; "
         f"CREATE INDEX items_label ON items (label); SELECT count(*) FROM items")
READ = ("SELECT 'rows', count(*), sum(id) FROM items; SELECT 'version', current_setting('server_version_num')::int / 10000")
# The journal's steps with work inside them (`started` and `upgraded` are
# each followed at once by the next write; the renames between `upgraded` and
# `swapped` are hit by the end-to-end test's strace injection).
STEPS = ["inspecting", "initializing", "checking", "upgrading", "swapped", "verified"]
# Clone mode runs on an XFS with reflinks made on a loop device for each
# volume (kit.xfs); where none can be made, those tests fail with the reason.
MODES = ["copy", "clone", "link"]
FULL = SCALE.name == "full"
REPEATS = 3 if FULL else 1
# CI: every step in copy mode, clone mode around pg_upgrade and the swap, link
# mode inside pg_upgrade (where the modes differ); full: every step in every mode.
KILL_POINTS = ([(m, s) for m in MODES for s in STEPS] if FULL else
               [("copy", s) for s in STEPS] + [("clone", s) for s in ("checking", "upgrading", "swapped")] + [("link", "upgrading")])
record("upgrade_kills", clone="tested on an XFS loop mount (mkfs.xfs -m reflink=1)")
FILL_STEPS = STEPS[:4] if FULL else ["checking", "upgrading"]


@pytest.fixture(scope="module")
def template():
    """A PostgreSQL 15 cluster with ROWS acknowledged rows (the writer's COMMIT returned)."""
    root = Path(tempfile.mkdtemp(prefix="msi-faults-upg-"))
    os.chmod(root, 0o755)
    volume = Volume(root)
    init = Init(["run", "--", *APP], env(volume, PG15, WRITE))
    assert init.wait(120) == 0, init.output
    assert f"app           | {ROWS}" in init.output or str(ROWS) in init.output
    yield volume
    shutil.rmtree(root, ignore_errors=True)


def env(volume, bindir, sql, **extra):
    return volume.env(MATHESAR_PG_BINDIR=bindir, MATHESAR_PG_OLD_BINDIR=PG15, MATHESAR_RESTART="never",
                      POSTGRES_PORT=free_port(), MSI_PSQL=PSQL, MSI_SQL=sql, **extra)


@pytest.fixture
def copies():
    made, mounts, filesystems = [], [], []

    def make(tmpfs_mib=None, mode="copy"):
        if mode == "clone":
            try:
                fs = XfsLoop()
            except RuntimeError as e:
                pytest.fail(str(e))
            filesystems.append(fs)
            root = fs.mount / "volume"
            root.mkdir(mode=0o755)
            return Volume(root)
        root = Path(tempfile.mkdtemp(prefix="msi-faults-upg-"))
        os.chmod(root, 0o755)
        made.append(root)
        if tmpfs_mib:
            mounts.append(Tmpfs(root, tmpfs_mib))
        return Volume(root)
    yield make
    for m in reversed(mounts):
        m.unmount()
    for fs in filesystems:
        fs.close()
    for root in made:
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def copy_of(template, volume):
    subprocess.run(["cp", "-a", str(template.data), str(volume.root)], check=True)
    return volume


def journal_step(volume):
    try:
        return json.loads((volume.data / "postgres.upgrade.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def wait_for_step(init, volume, step):
    """Until the journal names `step` (the file is replaced by rename, so a read sees a whole one)."""
    order = ["started"] + STEPS[:4] + ["upgraded"] + STEPS[4:]
    ok = wait_until(lambda: init.proc.poll() is not None or journal_step(volume) in order[order.index(step):], timeout=120, interval=0.001)
    assert ok and init.proc.poll() is None, f"the upgrade never reached {step}:\n{init.output}"


def siblings(volume):
    return sorted(p.name for p in volume.data.iterdir() if p.name.startswith("postgres."))


def check_after(volume, killed, mode="copy"):
    """The next boot (same mode) finishes the upgrade with every row; nothing is left beside PGDATA; pg_amcheck is clean."""
    init = Init(["run", "--", *APP], env(volume, PG17, READ, MATHESAR_PG_UPGRADE_MODE=mode))
    code = init.wait(180)
    assert code == 0, killed.output + "\n---- next boot ----\n" + init.output
    assert f"rows|{ROWS}|{ROWS * (ROWS + 1) // 2}" in init.output and "version|17" in init.output, init.output
    assert siblings(volume) in ([], ["postgres.upgrade-logs"]), init.output
    with DirectServer(volume.pgdata, PG17) as server:
        rc, out = server.amcheck()
        assert rc == 0, out
    return init


@pytest.mark.parametrize("mode,step", KILL_POINTS, ids=[f"{m}-{s}" for m, s in KILL_POINTS])
def test_sigkill_at_each_journal_step(template, copies, mode, step):
    r = rng(f"upgrade-kill-{mode}-{step}")
    for attempt in range(REPEATS):
        volume = copy_of(template, copies(mode=mode))
        init = Init(["run", "--", *APP], env(volume, PG17, READ, MATHESAR_PG_UPGRADE_MODE=mode))
        wait_for_step(init, volume, step)
        # First at the step's start; then after a random part of it (up to 0.4 s).
        if attempt:
            time.sleep(r.uniform(0, 0.4))
        init.kill()
        landed = journal_step(volume) or "finished"
        check_after(volume, init, mode)
        add("upgrade_kills", kills=1, rows_checked=ROWS, rows_lost=0)
        figures = record_landing(mode, landed)
    assert figures


def record_landing(mode, landed):
    from faults import FIGURES
    area = FIGURES.setdefault("upgrade_kills", {})
    area.setdefault("by_step", {})
    area["by_step"][landed] = area["by_step"].get(landed, 0) + 1
    area.setdefault("by_mode", {})
    area["by_mode"][mode] = area["by_mode"].get(mode, 0) + 1
    area["amcheck"] = "clean"
    return area


@pytest.mark.parametrize("mode", MODES if FULL else ["copy"])
def test_sigterm_during_pg_upgrade_is_the_contracts_stop_and_the_next_boot_finishes(template, copies, mode):
    volume = copy_of(template, copies(mode=mode))
    init = Init(["run", "--", *APP], env(volume, PG17, READ, MATHESAR_PG_UPGRADE_MODE=mode))
    wait_for_step(init, volume, "upgrading")
    init.signal(signal.SIGTERM)
    assert init.wait(30) == 143, init.output
    assert "SIGTERM received during boot" in init.output
    assert journal_step(volume) is not None  # left for the next boot to resume or undo
    check_after(volume, init, mode)
    add("upgrade_sigterm", stops=1, rows_checked=ROWS, rows_lost=0)


@pytest.mark.parametrize("step", FILL_STEPS)
def test_volume_filling_up_at_each_step_before_the_swap_is_undone(template, copies, step):
    """The volume is a tmpfs with room for the upgrade; at the step, a file
    takes what is left. The upgrade fails, is undone (73) and says how much
    space it needs; with the file gone the old cluster boots with every row,
    and the next upgrade succeeds."""
    size = 260
    volume = copy_of(template, copies(tmpfs_mib=size))
    init = Init(["run", "--", *APP], env(volume, PG17, READ, MATHESAR_PG_UPGRADE_MODE="copy"))
    wait_for_step(init, volume, step)
    filler = volume.root / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", f"count={size}"], capture_output=True)
    code = init.wait(180)
    assert code in (73, 69), init.output
    # PostgreSQL does not always say the disk is full ("could not write init file"); boot does, with the figure.
    assert "was undone" in init.output and "the upgrade needs about" in init.output, init.output
    assert siblings(volume) in ([], ["postgres.upgrade-logs"]), init.output
    assert (volume.pgdata / "PG_VERSION").read_text().strip() == "15"
    # Once there is room again (PostgreSQL itself cannot start on a full disk), the old cluster boots as it was ...
    filler.unlink()
    old = Init(["run", "--", *APP], env(volume, PG15, READ))
    assert old.wait(120) == 0 and f"rows|{ROWS}|" in old.output, old.output
    # ... and the upgrade succeeds.
    check_after(volume, init)
    add("upgrade_full_disk", fills=1, rows_checked=ROWS * 2, rows_lost=0)
    FIGS = __import__("faults").FIGURES.setdefault("upgrade_full_disk", {})
    FIGS.setdefault("steps", []).append(step)
    FIGS["tmpfs_mib"] = size
