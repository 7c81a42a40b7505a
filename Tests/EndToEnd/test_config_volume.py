"""Configuration and the data volume (issue 3), through the real binary."""
import json
import os
import pwd
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
    start = time.monotonic()
    second = Init(["run", "--", "sleep", "60"], external_env())
    assert second.wait(10) == 73
    assert time.monotonic() - start < 2
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
