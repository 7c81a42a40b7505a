"""Configuration and the data volume, through the real binary."""
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from harness import APPS, INIT, PYTHON, Init, base_env

# Prints the environment it got; secrets as SHA-256 (PID 1 masks secret values in log lines).
PRINT_ENV = ["/usr/bin/python3", "-c", "import hashlib, json, os; e = dict(os.environ); "
             "e.update({k: hashlib.sha256(e[k].encode()).hexdigest() for k in ('SECRET_KEY', 'POSTGRES_PASSWORD') if k in e}); "
             "print('ENV=' + json.dumps(e), flush=True)"]


def sha(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


def run(args, env, **kw):
    return subprocess.run([str(INIT), *args], env=env, capture_output=True, text=True, timeout=60, **kw)


# Each: extra environment, the variables the error must name.
BAD_ENVIRONMENTS = [
    ({"MATHESAR_RESTART": "sometimes"}, ["MATHESAR_RESTART"]),
    ({"MATHESAR_STOP_TIMEOUT": "-1"}, ["MATHESAR_STOP_TIMEOUT"]),
    ({"MATHESAR_STOP_TIMEOUT": "ten"}, ["MATHESAR_STOP_TIMEOUT"]),
    ({"MATHESAR_DB_WAIT_TIMEOUT": "1e9"}, ["MATHESAR_DB_WAIT_TIMEOUT"]),
    ({"POSTGRES_PORT": "70000"}, ["POSTGRES_PORT"]),
    ({"POSTGRES_PORT": "54x"}, ["POSTGRES_PORT"]),
    ({"POSTGRES_SSLMODE": "maybe"}, ["POSTGRES_SSLMODE"]),
    ({"POSTGRES_SSLMODE": "verify-full"}, ["POSTGRES_SSLMODE"]),  # bundled has no TLS
    ({"MATHESAR_LOG_FORMAT": "xml"}, ["MATHESAR_LOG_FORMAT"]),
    ({"POSTGRES_HOST": "db.example.com"}, ["POSTGRES_PASSWORD"]),  # external needs a password
    ({"POSTGRES_HOST": "bad host name"}, ["POSTGRES_HOST"]),
    ({"SECRET_KEY": "abc", "SECRET_KEY_FILE": "/run/secrets/x"}, ["SECRET_KEY"]),
    ({"POSTGRES_PASSWORD": "p", "POSTGRES_PASSWORD_FILE": "/run/secrets/p"}, ["POSTGRES_PASSWORD"]),
    ({"SECRET_KEY_FILE": "/nonexistent/secret"}, ["SECRET_KEY_FILE"]),
    ({"SECRET_KEY_FILE": "relative/path"}, ["SECRET_KEY_FILE"]),
    ({"SECRET_KEY_FILE": "/"}, ["SECRET_KEY_FILE"]),  # a directory where a file is expected
    ({"MATHESAR_DATA_DIR": "relative"}, ["MATHESAR_DATA_DIR"]),
    ({"MATHESAR_DATA_DIR": "/"}, ["MATHESAR_DATA_DIR"]),
    ({"MATHESAR_APP_COMMAND": "gunicorn 'unterminated"}, ["MATHESAR_APP_COMMAND"]),
    ({"MATHESAR_MIGRATE_COMMAND": 'python "x'}, ["MATHESAR_MIGRATE_COMMAND"]),
    ({"MATHESAR_HEALTHCHECK_URL": "https://example.com/"}, ["MATHESAR_HEALTHCHECK_URL"]),
    ({"MATHESAR_PG_UPGRADE_MODE": "teleport"}, ["MATHESAR_PG_UPGRADE_MODE"]),
    ({"MATHESAR_PG_UPGRADE_KEEP_OLD": "perhaps"}, ["MATHESAR_PG_UPGRADE_KEEP_OLD"]),
    ({"POSTGRES_DB": "x" * 64}, ["POSTGRES_DB"]),
    ({"POSTGRES_USER": "a\tb"}, ["POSTGRES_USER"]),
    ({"DOMAIN_NAME": "https://exa mple.com:99999/"}, ["DOMAIN_NAME"]),
    ({"ALLOWED_HOSTS": "mathesar.example.com:8000"}, ["ALLOWED_HOSTS"]),
    ({"MEDIA_ROOT": "media"}, ["MEDIA_ROOT"]),
    ({"WEB_CONCURRENCY": "lots"}, ["WEB_CONCURRENCY"]),
    ({"MATHESAR_ALLOW_NEW_SECRET_KEY": "maybe"}, ["MATHESAR_ALLOW_NEW_SECRET_KEY"]),
    # Several at once: all are reported.
    ({"MATHESAR_RESTART": "x", "POSTGRES_PORT": "0", "MATHESAR_LOG_FORMAT": "yaml"},
     ["MATHESAR_RESTART", "POSTGRES_PORT", "MATHESAR_LOG_FORMAT"]),
]


@pytest.mark.parametrize("extra,named", BAD_ENVIRONMENTS, ids=[",".join(n) + f"-{i}" for i, (_, n) in enumerate(BAD_ENVIRONMENTS)])
def test_bad_environment_exits_78_naming_each_variable_and_writes_nothing(volume, extra, named):
    env = volume.env(**extra)
    init = Init(["run", "--", "true"], env)
    assert init.wait() == 78, init.output
    for variable in named:
        assert variable in init.output
    assert "nothing was started or written" in init.output
    assert not volume.data.exists()
    assert not volume.run.exists()


def test_app_that_prints_its_secrets_has_them_masked_in_the_log(external_env):
    init = Init(["run", "--", "sh", "-c", "echo key=$SECRET_KEY pw=$POSTGRES_PASSWORD"],
                external_env(SECRET_KEY="app-secret-key-to-mask", MATHESAR_RESTART="never"))
    assert init.wait() == 0
    assert "key=<redacted> pw=<redacted>" in init.output
    assert "app-secret-key-to-mask" not in init.output and "owner-pw" not in init.output


def test_secret_value_never_appears_in_errors(volume, tmp_path):
    secret = "s3cr3t-value-that-must-not-leak"
    env = volume.env(SECRET_KEY=secret, SECRET_KEY_FILE="/x", POSTGRES_HOST="h", POSTGRES_PASSWORD=secret + "2",
                     POSTGRES_PASSWORD_FILE="/y")
    init = Init(["run", "--", "true"], env)
    assert init.wait() == 78
    assert secret not in init.output


def test_second_container_on_the_same_volume_exits_73_at_once(external_env, volume):
    first = Init(["run", "--", "sleep", "60"], external_env())
    first.wait_for("app: started")
    second = Init(["run", "--", "sleep", "60"], external_env())
    assert second.wait(10) == 73  # while the first still holds the volume: it did not wait for the lock
    assert first.proc.poll() is None
    assert "in use by another mathesar-init" in second.output
    assert f"pid=1 " in second.output and "host=" in second.output
    assert volume.status()["phase"] == "running"  # the first is unaffected
    first.signal(signal.SIGTERM)
    assert first.wait() == 143


def test_lock_is_released_when_the_holder_dies(external_env):
    first = Init(["run", "--", "sleep", "60"], external_env())
    first.wait_for("app: started")
    first.kill()
    second = Init(["run", "--", "true"], external_env())
    assert second.wait() == 0, second.output


@pytest.fixture
def read_only_mount(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)], check=True)
    yield target
    subprocess.run(["umount", str(target)], check=True)


def test_read_only_data_directory_exits_73_naming_it(volume, read_only_mount, pg_server):
    env = pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db")
    env["MATHESAR_DATA_DIR"] = str(read_only_mount)
    init = Init(["run", "--", "true"], env)
    assert init.wait() == 73
    assert str(read_only_mount) in init.output and "read-only" in init.output


def test_unwritable_data_directory_as_non_root_exits_73_with_the_fix(volume, pg_server):
    volume.data.mkdir(mode=0o755)
    volume.run.mkdir(mode=0o777)
    env = pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db")
    proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(INIT), "run", "--", "true"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 73, proc.stderr
    assert str(volume.data) in proc.stderr and "chown -R 65534" in proc.stderr


def test_generated_secrets_are_private_stable_and_owned_by_the_app_user(external_env, volume):
    env = external_env(MATHESAR_APP_USER="nobody", MATHESAR_RESTART="never")
    first = Init(["run", "--", *PRINT_ENV], env)
    assert first.wait() == 0, first.output
    secrets = volume.data / "secrets"
    key_file = secrets / "secret_key"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.stat().st_uid == secrets.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    key = key_file.read_text().strip()
    assert len(key) == 50 and key.isalnum()
    app_env = json.loads(next(l for l in first.output.splitlines() if "ENV=" in l).split("ENV=", 1)[1])
    assert app_env["SECRET_KEY"] == sha(key)
    second = Init(["run", "--", *PRINT_ENV], env)
    assert second.wait() == 0
    app_env2 = json.loads(next(l for l in second.output.splitlines() if "ENV=" in l).split("ENV=", 1)[1])
    assert app_env2["SECRET_KEY"] == sha(key)
    assert key not in first.output + second.output
    assert "generated secret_key" in first.output and "generated secret_key" not in second.output


def test_file_secrets_reach_the_app_without_file_variables(pg_server, volume, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("key-from-file\n")
    pw_file = tmp_path / "pw"
    pw_file.write_text("owner-pw\r\n")
    env = pg_server.external_env(volume, "owner_role", "", "owner_db", MATHESAR_RESTART="never",
                                 SECRET_KEY_FILE=key_file, POSTGRES_PASSWORD_FILE=pw_file)
    del env["POSTGRES_PASSWORD"]
    init = Init(["run", "--", *PRINT_ENV], env)
    assert init.wait() == 0, init.output
    app_env = json.loads(next(l for l in init.output.splitlines() if "ENV=" in l).split("ENV=", 1)[1])
    assert app_env["SECRET_KEY"] == sha("key-from-file")
    assert app_env["POSTGRES_PASSWORD"] == sha("owner-pw")
    assert "SECRET_KEY_FILE" not in app_env and "POSTGRES_PASSWORD_FILE" not in app_env
    assert not (volume.data / "secrets" / "secret_key").exists()  # a given secret is not persisted


def test_config_shows_sources_and_redacts_secrets(volume, tmp_path):
    pw_file = tmp_path / "pw"
    pw_file.write_text("file-password-xyz\n")
    env = volume.env(SECRET_KEY="env-secret-key-xyz", POSTGRES_HOST="db.internal", POSTGRES_PASSWORD_FILE=pw_file,
                     MATHESAR_RESTART="always")
    text = run(["config"], env)
    as_json = run(["config", "--format", "json"], env)
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr
    for output in (text.stdout + text.stderr, as_json.stdout + as_json.stderr):
        for secret in ("env-secret-key-xyz", "file-password-xyz"):
            assert secret not in output
    settings = {s["variable"]: s for s in json.loads(as_json.stdout)["settings"]}
    assert settings["SECRET_KEY"] == {"variable": "SECRET_KEY", "value": "<redacted>", "source": "env"}
    assert settings["POSTGRES_PASSWORD"]["source"] == f"file:{pw_file}"
    assert settings["MATHESAR_RESTART"]["value"] == "always"
    assert settings["MATHESAR_STOP_TIMEOUT"] == {"variable": "MATHESAR_STOP_TIMEOUT", "value": "9", "source": "default"}
    assert json.loads(as_json.stdout)["mode"] == "external"
    assert "MATHESAR_RESTART" in text.stdout and "[env]" in text.stdout
    assert not volume.data.exists()


def test_config_bad_format_is_a_usage_error(volume):
    assert run(["config", "--format", "xml"], volume.env()).returncode == 64


def test_check_passes_on_good_external_credentials_and_writes_nothing(pg_server, volume):
    env = pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db")
    r = run(["check"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok       database: role owner_role owns database owner_db" in r.stdout
    assert "PROBLEM" not in r.stdout
    assert not volume.data.exists() and not volume.run.exists()


def test_check_reports_bad_external_credentials(pg_server, volume):
    env = pg_server.external_env(volume, "owner_role", "not-the-password", "owner_db")
    r = run(["check"], env)
    assert r.returncode == 69
    assert "PROBLEM  database:" in r.stdout and "POSTGRES_PASSWORD" in r.stdout
    assert "not-the-password" not in r.stdout + r.stderr


def test_check_reports_every_problem_at_once(volume, pg_server, tmp_path):
    volume.pgdata.mkdir(parents=True)
    (volume.pgdata / "stray").write_text("x")
    env = volume.env(MATHESAR_APP_COMMAND="no-such-program-abc", MATHESAR_APP_USER="no-such-user-abc")
    lock_holder = Init(["run", "--", "sleep", "30"], pg_server.external_env(volume, "owner_role", "owner-pw", "owner_db"))
    lock_holder.wait_for("app: started")
    time.sleep(0.2)
    before = {k: v for k, v in volume.snapshot().items() if not k.startswith("run")}
    r = run(["check"], env)
    lock_holder.signal(signal.SIGTERM)
    lock_holder.wait()
    assert r.returncode == 78, r.stdout
    for subject in ("app user", "app command", "volume lock", "PGDATA"):
        assert f"PROBLEM  {subject}:" in r.stdout, r.stdout
    assert {k: v for k, v in volume.snapshot().items() if not k.startswith("run")} == before


def test_check_on_a_bad_environment_lists_the_problems(volume):
    r = run(["check"], volume.env(MATHESAR_RESTART="sometimes", POSTGRES_PORT="-5"))
    assert r.returncode == 78
    assert "PROBLEM  MATHESAR_RESTART:" in r.stdout and "PROBLEM  POSTGRES_PORT:" in r.stdout


def app_env_of(init):
    return json.loads(next(l for l in init.output.splitlines() if "ENV=" in l).split("ENV=", 1)[1])


# --- uploads, hosts, workers: what the app is told ------------------------------

# Writes an upload into MEDIA_ROOT on the first boot, reads it back on the next.
UPLOAD_APP = ["/usr/bin/python3", "-c", "import os, pathlib; m = pathlib.Path(os.environ['MEDIA_ROOT']); "
              "f = m / 'imports' / 'table.csv'; print('MEDIA_ROOT=' + str(m), flush=True); "
              "print('read: ' + f.read_text(), flush=True) if f.exists() else "
              "(f.parent.mkdir(parents=True, exist_ok=True), f.write_text('id,name\\n1,one\\n'), print('wrote', flush=True))"]


def test_uploads_land_in_the_volume_and_survive_a_new_container(external_env, volume):
    env = external_env(MATHESAR_RESTART="never", MATHESAR_APP_USER="nobody")
    first = Init(["run", "--", *UPLOAD_APP], env)
    assert first.wait() == 0, first.output
    assert f"MEDIA_ROOT={volume.data}/media" in first.output and "wrote" in first.output
    upload = volume.data / "media" / "imports" / "table.csv"
    assert upload.read_text() == "id,name\n1,one\n"
    assert upload.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    # A new container on the same volume (nothing else survives: a fresh run directory).
    shutil.rmtree(volume.run)
    second = Init(["run", "--", *UPLOAD_APP], env)
    assert second.wait() == 0, second.output
    assert "read: id,name" in second.output


def test_media_root_given_by_the_user_is_passed_as_given(external_env, tmp_path):
    init = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never", MEDIA_ROOT=f"{tmp_path}/uploads/"))
    assert init.wait() == 0, init.output
    assert app_env_of(init)["MEDIA_ROOT"] == f"{tmp_path}/uploads/"


def expected_cpus():
    """The container's CPUs as the kernel states them: cgroup v2, then v1 quota, then the affinity mask."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return min(len(os.sched_getaffinity(0)), -(-int(quota) // int(period)))
    except FileNotFoundError:
        try:
            quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
            period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
            if quota > 0:
                return min(len(os.sched_getaffinity(0)), -(-quota // period))
        except FileNotFoundError:
            pass
    return len(os.sched_getaffinity(0))


def test_app_gets_hosts_and_workers_only_where_the_user_did_not_say(external_env):
    plain = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never"))
    assert plain.wait() == 0, plain.output
    env = app_env_of(plain)
    assert "ALLOWED_HOSTS" not in env  # the app's own default applies
    assert env["WEB_CONCURRENCY"] == str(2 * expected_cpus() + 1)

    # Only one CPU for PID 1 (and so for the app): the default follows.
    pinned = subprocess.run(["taskset", "-c", "0", str(INIT), "run", "--", *PRINT_ENV], capture_output=True, text=True,
                            env=external_env(MATHESAR_RESTART="never"), timeout=60)
    assert pinned.returncode == 0, pinned.stderr
    pinned_env = json.loads(next(l for l in (pinned.stdout + pinned.stderr).splitlines() if "ENV=" in l).split("ENV=", 1)[1])
    assert pinned_env["WEB_CONCURRENCY"] == "3"

    domain = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never", WEB_CONCURRENCY="7",
                                                          DOMAIN_NAME="https://mathesar.example.com:8443/"))
    assert domain.wait() == 0, domain.output
    env = app_env_of(domain)
    assert env["ALLOWED_HOSTS"] == ".localhost, 127.0.0.1, [::1], mathesar.example.com"
    assert env["WEB_CONCURRENCY"] == "7"

    given = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never", ALLOWED_HOSTS="data.example.org",
                                                         DOMAIN_NAME="data.example.org"))
    assert given.wait() == 0, given.output
    assert app_env_of(given)["ALLOWED_HOSTS"] == "data.example.org"


def test_config_shows_the_new_settings_with_their_sources(volume):
    env = volume.env(DOMAIN_NAME="mathesar.example.com", WEB_CONCURRENCY="4")
    r = run(["config", "--format", "json"], env)
    assert r.returncode == 0, r.stderr
    settings = {s["variable"]: s for s in json.loads(r.stdout)["settings"]}
    assert settings["MEDIA_ROOT"] == {"variable": "MEDIA_ROOT", "value": f"{volume.data}/media/", "source": "default"}
    assert settings["ALLOWED_HOSTS"]["source"] == "generated"
    assert settings["ALLOWED_HOSTS"]["value"].endswith("mathesar.example.com")
    assert settings["DOMAIN_NAME"]["source"] == "env"
    assert settings["WEB_CONCURRENCY"] == {"variable": "WEB_CONCURRENCY", "value": "4", "source": "env"}
    assert settings["MATHESAR_LEGACY_SECRETS_DIR"] == {"variable": "MATHESAR_LEGACY_SECRETS_DIR", "value": "/code/.secrets", "source": "default"}
    assert settings["MATHESAR_ALLOW_NEW_SECRET_KEY"]["value"] == "false"
    default = {s["variable"]: s for s in json.loads(run(["config", "--format", "json"], volume.env()).stdout)["settings"]}
    assert re.match(r"\d+ \(2 x \d+ CPUs \+ 1", default["WEB_CONCURRENCY"]["value"])


# --- the key of a volume from Mathesar's image ---------------------------------

def legacy_secrets(tmp_path, key="legacy-key-from-mathesars-image-0123456789!@#$%^&*(-_=+)"):
    directory = tmp_path / "code-secrets"
    directory.mkdir()
    (directory / "secret_key.txt").write_text(key)
    return directory, key


def test_key_of_mathesars_image_is_used_and_kept_in_the_volume(external_env, volume, tmp_path):
    directory, key = legacy_secrets(tmp_path)
    first = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never", MATHESAR_LEGACY_SECRETS_DIR=directory))
    assert first.wait() == 0, first.output
    assert app_env_of(first)["SECRET_KEY"] == sha(key)
    kept = volume.data / "secrets" / "secret_key"
    assert kept.read_text() == key + "\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert f"using the key Mathesar's image kept in {directory}/secret_key.txt" in first.output
    assert "generated secret_key" not in first.output and key not in first.output
    # The next container has no /code/.secrets: the volume keeps the key.
    shutil.rmtree(directory)
    second = Init(["run", "--", *PRINT_ENV], external_env(MATHESAR_RESTART="never", MATHESAR_LEGACY_SECRETS_DIR=directory))
    assert second.wait() == 0, second.output
    assert app_env_of(second)["SECRET_KEY"] == sha(key)
    assert "Mathesar's image" not in second.output


def test_legacy_key_behind_a_symlink_is_refused_untouched(external_env, volume, tmp_path):
    directory = tmp_path / "code-secrets"
    directory.mkdir()
    (directory / "secret_key.txt").symlink_to("/etc/hostname")
    init = Init(["run", "--", "true"], external_env(MATHESAR_LEGACY_SECRETS_DIR=directory))
    assert init.wait() == 78, init.output
    assert "symbolic link" in init.output and "secret_key.txt" in init.output
    assert not volume.data.exists()


# --- a data directory that is not a volume ---------------------------------------

@pytest.fixture
def tmpfs_data(volume):
    volume.data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(volume.data)], check=True)
    yield volume.data
    subprocess.run(["umount", str(volume.data)], check=True)


NOT_A_VOLUME = "is not a mount of its own"


def test_data_directory_on_the_root_filesystem_is_warned_about(external_env, volume):
    init = Init(["run", "--", "true"], external_env(MATHESAR_RESTART="never"))
    assert init.wait() == 0, init.output
    line = next(l for l in init.output.splitlines() if NOT_A_VOLUME in l)
    assert f"MATHESAR_DATA_DIR={volume.data}" in line and "warning:" in line and "Mount a volume there" in line
    # External mode, no SECRET_KEY: the key would change with every container.
    assert "replicas must share one key" in line and "SECRET_KEY_FILE" in line
    check = run(["check"], external_env())
    assert NOT_A_VOLUME in check.stdout and "replicas must share one key" in check.stdout
    # With SECRET_KEY set, only the loss of what the directory holds is left to say.
    given = Init(["run", "--", "true"], external_env(MATHESAR_RESTART="never", SECRET_KEY="shared-key-of-all-replicas"))
    assert given.wait() == 0
    assert NOT_A_VOLUME in given.output and "replicas" not in given.output


def test_data_directory_on_a_mount_of_its_own_is_not_warned_about(external_env, tmpfs_data):
    init = Init(["run", "--", "true"], external_env(MATHESAR_RESTART="never"))
    assert init.wait() == 0, init.output
    assert NOT_A_VOLUME not in init.output
    check = run(["check"], external_env())
    assert check.returncode == 0, check.stdout
    assert NOT_A_VOLUME not in check.stdout
