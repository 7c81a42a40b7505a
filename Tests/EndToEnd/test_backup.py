"""`backup` and `restore` with a real PostgreSQL: beside a running PID 1
(through its socket, as `docker exec` does), with the volume not in use (a
private server), and in external mode; a restore boots into the same rows
and key; damaged archives and non-empty volumes are refused; a kill during
a restore leaves an empty volume."""
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from harness import APPS, INIT, PG_BIN, PYTHON, Init, Volume, base_env, free_port

DB_APP = [PYTHON, str(APPS / "db_app.py")]
BATCH_APP = [PYTHON, str(APPS / "batch_writer.py")]


_roots = []


def make_volume(_tmp_path, name):
    """A volume the postgres account can reach (pytest's own tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix=f"msi-bk-{name}-"))
    os.chmod(root, 0o755)
    _roots.append(root)
    return Volume(root)


@pytest.fixture(scope="module", autouse=True)
def _remove_volumes():
    yield
    for root in _roots:
        shutil.rmtree(root, ignore_errors=True)


def env_for(volume, port, **extra):
    return volume.env(POSTGRES_PORT=port, MATHESAR_RESTART="never", **extra)


def boot(env, *command, timeout=90):
    init = Init(["run", "--", *(command or DB_APP)], env)
    code = init.wait(timeout)
    return code, init


def command(env, *args, timeout=120):
    """mathesar-init backup/restore as PID 1 of a fresh namespace (`docker run --rm ... backup`)."""
    init = Init(list(args), env)
    return init.wait(timeout), init


def beside(env, *args, timeout=120):
    """As `docker exec` runs it: a second process beside the running PID 1."""
    return subprocess.run([str(INIT), *args], env=env, capture_output=True, timeout=timeout)


def psql_socket(volume, port, sql, database="postgres"):
    r = subprocess.run([PG_BIN / "psql", "-h", str(volume.run / "postgresql"), "-p", str(port), "-U", "postgres", "-d", database,
                        "-X", "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, env=base_env())
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def members(archive):
    with tarfile.open(archive) as tar:
        return tar.getnames()


def manifest(archive):
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def only_archive(volume):
    found = sorted((volume.data / "backups").glob("mathesar-*.tar"))
    assert len(found) == 1, found
    return found[0]


# What the app's users uploaded (MEDIA_ROOT, media/ in the volume), relative path -> bytes.
UPLOADS = {
    "imports/people.csv": b"name,city\nAda,London\n",
    "imports/2026/\u00e9t\u00e9 r\u00e9sum\u00e9 \u2014 long name " + "x" * 120 + ".tsv": b"a\tb\n" * 1000,
    "big.bin": os.urandom(3 * 1024 * 1024 + 17),
}
# Root-only, outside media/: what a symlink planted in media/ points at.
OUTSIDE_SECRET = b"root-only-secret-0xdeadbeef"


def plant_uploads(volume):
    media = volume.data / "media"
    for path, data in UPLOADS.items():
        (media / path).parent.mkdir(parents=True, exist_ok=True)
        (media / path).write_bytes(data)
    outside = volume.root / "outside-secret"
    outside.write_bytes(OUTSIDE_SECRET)
    outside.chmod(0o600)
    (media / "imports" / "link.csv").symlink_to(outside)
    (media / "imports" / "dirlink").symlink_to(volume.root)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A bundled volume with a row in the internal database and a user database,
    and an archive of it made with the volume not in use."""
    tmp = tmp_path_factory.mktemp("backup-source")
    volume = make_volume(tmp, "vol")
    port = free_port()
    env = env_for(volume, port)
    code, init = boot(env_for(volume, port, ACTION="write", VALUE="row-1"))
    assert code == 0, init.output
    # A user database, as Mathesar makes one ("create new database"): owned by the role.
    init = Init(["run", "--", "sleep", "600"], env)
    init.wait_for("app: started")
    psql_socket(volume, port, "CREATE DATABASE sales OWNER mathesar")
    psql_socket(volume, port, "CREATE TABLE orders (id int, what text); INSERT INTO orders VALUES (1, 'tea'), (2, 'cake')", "sales")
    init.signal(signal.SIGTERM)
    assert init.wait() == 143
    plant_uploads(volume)
    started = time.monotonic()
    code, backup = command(env, "backup")
    elapsed = time.monotonic() - started
    assert code == 0, backup.output
    archive = only_archive(volume)
    print(f"stopped backup: {archive.stat().st_size} bytes in {elapsed:.2f} s")
    return volume, port, archive, backup


def test_stopped_backup_holds_roles_every_database_secrets_and_a_manifest(source):
    volume, port, archive, backup = source
    assert re.fullmatch(r"mathesar-\d{8}T\d{6}Z\.tar", archive.name)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert "starting its PostgreSQL privately" in backup.output
    names = members(archive)
    assert names[-1] == "manifest.json" and "roles.sql" in names
    assert {"secrets/secret_key", "secrets/postgres_password"} <= set(names)
    m = manifest(archive)
    assert m["mode"] == "bundled" and m["internal_database"] == "mathesar_django"
    dbs = {x["database"] for x in m["members"] if x["kind"] == "database"}
    assert dbs == {"mathesar_django", "postgres", "sales"}
    assert all(len(x["sha256"]) == 64 for x in m["members"])
    # No secret in the log, and nothing left behind in the volume.
    key = (volume.data / "secrets" / "secret_key").read_text().strip()
    assert key not in backup.output
    assert [p.name for p in (volume.data / "backups").iterdir()] == [archive.name]
    assert volume.controldata_state() == "shut down"


def test_restore_boots_into_the_same_rows_databases_and_key(source, tmp_path):
    volume, _, archive, _ = source
    target = make_volume(tmp_path, "restored")
    port = free_port()
    started = time.monotonic()
    code, restore = command(env_for(target, port), "restore", str(archive))
    print(f"restore: {time.monotonic() - started:.2f} s")
    assert code == 0, restore.output
    assert "matches its manifest" in restore.output
    for name in ("secret_key", "postgres_password"):
        assert (target.data / "secrets" / name).read_text() == (volume.data / "secrets" / name).read_text()
        assert stat.S_IMODE((target.data / "secrets" / name).stat().st_mode) == 0o600
    assert target.controldata_state() == "shut down"
    code, init = boot(env_for(target, port, ACTION="read"))
    assert code == 0, init.output
    assert "rows=row-1" in init.output
    assert "generated" not in init.output and "changed the password" not in init.output
    init = Init(["run", "--", "sleep", "600"], env_for(target, port))
    with init:
        init.wait_for("app: started")
        assert psql_socket(target, port, "SELECT string_agg(what, ',' ORDER BY id) FROM orders", "sales") == "tea,cake"
        assert psql_socket(target, port, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'sales'") == "mathesar"
        init.signal(signal.SIGTERM)
        assert init.wait() == 143


def test_restore_warns_when_the_environment_gives_another_secret_key(source, tmp_path):
    volume, _, archive, _ = source
    target = make_volume(tmp_path, "other-key")
    code, restore = command(env_for(target, free_port(), SECRET_KEY="a-key-that-is-not-the-backups-0123456789"), "restore", str(archive))
    assert code == 0, restore.output
    assert "SECRET_KEY is set in the environment and differs from the key in the backup" in restore.output
    assert "unset SECRET_KEY (and SECRET_KEY_FILE)" in restore.output
    assert "a-key-that-is-not-the-backups" not in restore.output
    assert (target.data / "secrets" / "secret_key").read_text() == (volume.data / "secrets" / "secret_key").read_text()


def test_backup_holds_the_uploads_with_sizes_and_checksums_and_no_planted_link(source):
    volume, _, archive, backup = source
    m = manifest(archive)
    media = {x["path"]: x for x in m["members"] if x["kind"] == "media"}
    assert set(media) == set(UPLOADS)
    for path, data in UPLOADS.items():
        assert media[path]["size"] == len(data)
        assert media[path]["sha256"] == hashlib.sha256(data).hexdigest()
        assert re.fullmatch(r"media/\d+", media[path]["name"])
    # The links are named in a warning, neither followed nor stored.
    for link in ("link.csv", "dirlink"):
        assert f"backup: left out {volume.data}/media/imports/{link}: it is a symbolic link" in backup.output
    assert OUTSIDE_SECRET not in archive.read_bytes()
    assert re.search(r"3 uploads \(3\.\d MiB\)", backup.output), backup.output


def test_restore_puts_the_uploads_back_owned_by_the_app_user(source, tmp_path):
    _, _, archive, _ = source
    target = make_volume(tmp_path, "media")
    code, restore = command(env_for(target, free_port(), MATHESAR_APP_USER="nobody"), "restore", str(archive))
    assert code == 0, restore.output
    assert "3 uploads" in restore.output
    media = target.data / "media"
    for path, data in UPLOADS.items():
        assert (media / path).read_bytes() == data
        st = (media / path).stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (65534, 0o644), path
    for d in (media, media / "imports", media / "imports" / "2026"):
        assert (d.stat().st_uid, stat.S_IMODE(d.stat().st_mode)) == (65534, 0o755), d
    assert not (media / "imports" / "link.csv").exists() and not (media / "imports" / "link.csv").is_symlink()
    assert sorted(p.name for p in target.data.iterdir() if p.name.startswith(".media")) == []


def without_uploads(archive, tmp_path):
    """The archive as a mathesar-init from before uploads were backed up wrote it:
    the same members but media/, and a manifest without them."""
    old = tmp_path / "before-media.tar"
    with tarfile.open(archive) as src, tarfile.open(old, "w", format=tarfile.USTAR_FORMAT) as dst:
        for info in src.getmembers():
            if info.name.startswith("media/"):
                continue
            data = src.extractfile(info).read()
            if info.name == "manifest.json":
                m = json.loads(data)
                m["members"] = [x for x in m["members"] if x["kind"] != "media"]
                data = (json.dumps(m, separators=(",", ":")) + "\n").encode()
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return old


def test_an_archive_without_uploads_still_restores(source, tmp_path):
    _, port, archive, _ = source
    old = without_uploads(archive, tmp_path)
    assert not [n for n in members(old) if n.startswith("media/")]
    target = make_volume(tmp_path, "old-format")
    code, restore = command(env_for(target, port), "restore", str(old))
    assert code == 0, restore.output
    assert "0 uploads" in restore.output
    assert not (target.data / "media").exists() or not any((target.data / "media").iterdir())
    code, init = boot(env_for(target, port, ACTION="read"))
    assert code == 0 and "rows=row-1" in init.output, init.output


def test_restore_refuses_a_media_directory_that_has_files_and_changes_nothing(source, tmp_path):
    _, port, archive, _ = source
    target = make_volume(tmp_path, "media-full")
    (target.data / "media").mkdir(parents=True)
    (target.data / "media" / "mine.txt").write_text("kept")
    before = target.snapshot()
    code, restore = command(env_for(target, port), "restore", str(archive))
    assert code == 73, restore.output
    assert f"{target.data}/media is not empty (mine.txt)" in restore.output and "changed nothing" in restore.output
    after = target.snapshot()
    assert {k: v for k, v in after.items() if "media" in k} == {k: v for k, v in before.items() if "media" in k}
    assert not (target.pgdata / "PG_VERSION").exists()


def test_restore_refuses_a_volume_that_has_a_cluster_and_changes_nothing(source):
    volume, port, archive, _ = source
    before = volume.snapshot()
    code, restore = command(env_for(volume, port), "restore", str(archive))
    assert code == 73, restore.output
    assert "already holds a PostgreSQL" in restore.output and "changed nothing" in restore.output
    after = volume.snapshot()
    after.pop("data/.mathesar-init.lock", None), before.pop("data/.mathesar-init.lock", None)
    assert after == before


def damaged(archive, tmp_path, how):
    data = bytearray(archive.read_bytes())
    copy = tmp_path / f"damaged-{how}.tar"
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "dump-byte":
        with tarfile.open(archive) as tar:
            info = next(i for i in tar.getmembers() if i.name.startswith("databases/"))
        data[info.offset_data + info.size // 2] ^= 0xFF
    elif how == "media-byte":
        with tarfile.open(archive) as tar:
            info = next(i for i in tar.getmembers() if i.name.startswith("media/"))
        data[info.offset_data + info.size // 2] ^= 0xFF
    elif how == "manifest-edit":
        with tarfile.open(archive) as tar:
            info = tar.getmember("manifest.json")
        text = bytes(data[info.offset_data: info.offset_data + info.size])
        edited = re.sub(rb'"sha256":"([0-9a-f])', lambda m: b'"sha256":"' + (b"0" if m.group(1) != b"0" else b"1"), text, count=1)
        data[info.offset_data: info.offset_data + info.size] = edited
    elif how == "end-marker":
        data = data[:-512]
    copy.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("how,says", [
    ("truncated", "truncated"),
    ("dump-byte", "does not match its checksum"),
    ("media-byte", "does not match its checksum"),
    ("manifest-edit", "does not match its checksum"),
    ("end-marker", "end-of-archive marker"),
])
def test_a_damaged_archive_is_refused_before_anything_changes(source, tmp_path, how, says):
    _, _, archive, _ = source
    target = make_volume(tmp_path, "target")
    code, restore = command(env_for(target, free_port()), "restore", str(damaged(archive, tmp_path, how)))
    assert code == 65, restore.output
    assert says in restore.output and "nothing was changed" in restore.output
    assert not target.pgdata.exists() or not any(target.pgdata.iterdir())
    assert not (target.data / "postgres.initdb-incomplete").exists()
    assert not (target.data / "secrets").exists() or not any((target.data / "secrets").iterdir())
    assert not (target.data / "media").exists() or not any((target.data / "media").iterdir())


def test_a_kill_during_restore_leaves_an_empty_volume_and_a_new_restore_works(source, tmp_path):
    _, _, archive, _ = source
    target = make_volume(tmp_path, "killed")
    port = free_port()
    init = Init(["restore", str(archive)], env_for(target, port))
    init.wait_for(r"restore: restoring database mathesar_django")
    init.kill()
    assert not (target.pgdata / "PG_VERSION").exists()
    assert (target.data / "postgres.initdb-incomplete").exists()  # what the next boot or restore removes
    assert not (target.data / "media").exists()
    code, again = command(env_for(target, port), "restore", str(archive))
    assert code == 0, again.output
    assert "removed what an interrupted restore" in again.output
    assert sorted(p.relative_to(target.data / "media").as_posix() for p in (target.data / "media").rglob("*") if p.is_file()) == sorted(UPLOADS)
    code, init = boot(env_for(target, port, ACTION="read"))
    assert code == 0 and "rows=row-1" in init.output, init.output


def test_a_kill_after_the_uploads_are_placed_but_before_the_cluster_is_undone_by_the_next_restore(source, tmp_path):
    """strace kills PID 1 at the entry of the rename(2) that moves the restored
    cluster to PGDATA, after media/ is in place (the uploads and the secrets
    are renamed with renameat(2), which is not traced)."""
    _, _, archive, _ = source
    target = make_volume(tmp_path, "killed-media")
    port = free_port()
    init = Init(["restore", str(archive)], env_for(target, port))
    init.wait_for(r"matches its manifest")
    tracer = subprocess.Popen(["strace", "-qq", "-p", str(init.pid1), "-e", "trace=rename", "-e", "inject=rename:signal=KILL",
                               "-o", "/dev/null"])
    init.proc.wait(120)
    tracer.wait(10)
    assert not (target.pgdata / "PG_VERSION").exists(), init.output
    assert (target.data / ".media-restore.pending").exists(), init.output
    assert (target.data / "media" / "big.bin").read_bytes() == UPLOADS["big.bin"]
    code, again = command(env_for(target, port), "restore", str(archive))
    assert code == 0, again.output
    assert f"{target.data}/media (restored by the interrupted restore)" in again.output
    restored = sorted(p.relative_to(target.data / "media").as_posix() for p in (target.data / "media").rglob("*") if p.is_file())
    assert restored == sorted(UPLOADS)
    assert not (target.data / ".media-restore.pending").exists() and not (target.data / ".media-restore").exists()


def test_a_boot_ends_a_restore_killed_after_its_cluster_was_in_place_and_keeps_the_uploads(source, tmp_path):
    """A kill between the cluster's rename and the removal of the uploads' marker
    leaves a finished restore with its marker: the next boot removes the marker,
    so that a later restore (the cluster moved away) never takes these uploads for
    an interrupted restore's leftovers."""
    _, _, archive, _ = source
    target = make_volume(tmp_path, "marker-left")
    port = free_port()
    code, restore = command(env_for(target, port), "restore", str(archive))
    assert code == 0, restore.output
    (target.data / ".media-restore.pending").write_bytes(b"")  # what that kill leaves
    code, init = boot(env_for(target, port, ACTION="read"))
    assert code == 0, init.output
    assert "removed its marker" in init.output and "the uploads in media/ are kept" in init.output
    assert not (target.data / ".media-restore.pending").exists()
    shutil.move(target.pgdata, target.data / "cluster-moved-away")
    code, again = command(env_for(target, port), "restore", str(archive))
    assert code == 73, again.output  # media/ holds files: refused, nothing removed
    assert "restored by the interrupted restore" not in again.output
    for path, data in UPLOADS.items():
        assert (target.data / "media" / path).read_bytes() == data


def test_a_live_backup_holds_each_transaction_whole_and_restores(tmp_path):
    volume = make_volume(tmp_path, "live")
    port = free_port()
    env = env_for(volume, port)
    writer = Init(["run", "--", *BATCH_APP], env_for(volume, port, ACTION="write", BATCH="50"))
    with writer:
        writer.wait_for(r"committed 20\b")
        acknowledged = max(int(m) for m in re.findall(r"committed (\d+)", writer.output))
        started = time.monotonic()
        r = beside(env, "backup", "--output", str(tmp_path / "live.tar"))
        elapsed = time.monotonic() - started
        err = r.stderr.decode()
        assert r.returncode == 0, err
        assert "the volume is in use" in err
        after = max(int(m) for m in re.findall(r"committed (\d+)", writer.output))
        assert after > acknowledged  # the writer kept committing during the backup
        writer.signal(signal.SIGTERM)
        writer.wait()
    print(f"live backup: {(tmp_path / 'live.tar').stat().st_size} bytes in {elapsed:.2f} s, batches acknowledged before {acknowledged}, after {after}")
    target = make_volume(tmp_path, "target")
    code, restore = command(env_for(target, port), "restore", str(tmp_path / "live.tar"))
    assert code == 0, restore.output
    code, check = boot(env_for(target, port, ACTION="check"), *BATCH_APP)
    assert code == 0, check.output
    m = re.search(r"batches=(\d+) max=(\d+) sizes=(\S*)", check.output)
    batches, highest, sizes = int(m[1]), int(m[2]), m[3]
    # Every batch acknowledged before the backup began is in it, and no batch is in part.
    assert sizes == "50" and batches == highest and highest >= acknowledged, check.output


def test_backup_to_standard_output_is_the_archive_alone(source, tmp_path):
    volume, port, _, _ = source
    out = tmp_path / "stdout.tar"
    with open(out, "wb") as f:
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(INIT), "backup", "--output", "-"],
                           env=env_for(volume, port), stdout=f, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert members(out)[-1] == "manifest.json"
    assert "written to standard output" in r.stderr.decode()


@pytest.mark.parametrize("where", ["parent", "deeper"])
def test_backup_refuses_a_symlink_on_the_way_to_its_output(source, tmp_path, where):
    volume, port, _, _ = source
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = tmp_path / "real"
    (real / "inside").mkdir(parents=True)
    if where == "parent":
        link = tmp_path / "link"
        link.symlink_to(elsewhere)
        output = link / "out.tar"
    else:
        link = real / "inside" / "link"
        link.symlink_to(elsewhere)
        output = link / "more" / "out.tar"
        (elsewhere / "more").mkdir()
    code, backup = command(env_for(volume, port), "backup", "--output", str(output))
    assert code == 73, backup.output
    assert f"backup: {link} is a symbolic link" in backup.output and "wrote nothing" in backup.output, backup.output
    assert list(elsewhere.rglob("*.tar*")) == []
    assert [p.name for p in (volume.data / "backups").iterdir()] == [only_archive(volume).name]


def test_backup_refuses_a_symlinked_backups_directory_in_the_volume(source, tmp_path):
    volume, port, _, _ = source
    backups = volume.data / "backups"
    kept = volume.data / "backups.kept"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    backups.rename(kept)
    try:
        backups.symlink_to(elsewhere)
        code, backup = command(env_for(volume, port), "backup")
        assert code == 73, backup.output
        assert f"{backups} is a symbolic link" in backup.output, backup.output
        assert list(elsewhere.iterdir()) == []
    finally:
        backups.unlink(missing_ok=True)
        kept.rename(backups)


def test_external_backup_holds_the_internal_database_and_restores_into_an_empty_one(pg_server, volume, tmp_path):
    pg_server.make_role("bk_role", "bk-pw", owns="bk_db")
    env = pg_server.external_env(volume, "bk_role", "bk-pw", "bk_db", MATHESAR_RESTART="never")
    code, init = boot(dict(env, ACTION="write", VALUE="ext-row"))
    assert code == 0, init.output
    code, backup = command(env, "backup")
    assert code == 0, backup.output
    archive = only_archive(volume)
    names = members(archive)
    assert "roles.sql" not in names and "secrets/secret_key" in names
    assert [x["database"] for x in manifest(archive)["members"] if x["kind"] == "database"] == ["bk_db"]
    # Into a new, empty database on the same server, from a new volume.
    pg_server.sql('CREATE DATABASE bk_new OWNER bk_role')
    fresh = make_volume(tmp_path, "fresh")
    env2 = pg_server.external_env(fresh, "bk_role", "bk-pw", "bk_new", MATHESAR_RESTART="never")
    code, restore = command(env2, "restore", str(archive))
    assert code == 0, restore.output
    assert (fresh.data / "secrets" / "secret_key").read_text() == (volume.data / "secrets" / "secret_key").read_text()
    code, init = boot(dict(env2, ACTION="read"))
    assert code == 0 and "rows=ext-row" in init.output, init.output
    # A second restore into the now non-empty database is refused.
    code, again = command(env2, "restore", str(archive))
    assert code == 73 and "is not empty" in again.output, again.output
