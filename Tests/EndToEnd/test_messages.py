"""What a person reads: a misspelled subcommand, `check`'s one line per
check, and `config`'s words for where each value comes from."""
import json
import os
import re
import subprocess

from harness import INIT, PostgresServer, base_env, free_port


def run(args, env, **kw):
    return subprocess.run([str(INIT), *args], env=env, capture_output=True, text=True, timeout=60, **kw)


def test_a_misspelled_subcommand_gets_did_you_mean_not_command_not_found(volume):
    r = run(["chek"], volume.env())
    assert r.returncode == 64, r.stdout + r.stderr
    assert 'unknown command "chek": did you mean check?' in r.stderr
    assert "PATH=" not in r.stderr and "command not found" not in r.stderr
    assert not volume.data.exists()  # nothing booted


def test_a_program_named_like_a_subcommand_is_still_the_app(volume, tmp_path, external_env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "chek"
    program.write_text("#!/bin/sh\necho the chek program ran\n")
    program.chmod(0o755)
    env = external_env(MATHESAR_RESTART="never")
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(INIT), "chek"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the chek program ran" in r.stdout + r.stderr


def test_check_names_a_bad_variable_once(volume):
    r = run(["check"], volume.env(POSTGRES_PORT="abc"))
    assert r.returncode == 78
    line = next(l for l in r.stdout.splitlines() if "POSTGRES_PORT" in l)
    assert line.startswith('PROBLEM  POSTGRES_PORT: "abc": '), line
    assert line.split(" (example: ")[0].count("POSTGRES_PORT") == 1, line


def test_check_keeps_one_line_per_check_with_libpq_messages(volume):
    # Nothing listens there: libpq's message has a newline ("Is the server running ...").
    env = volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=free_port(), POSTGRES_PASSWORD="x",
                     MATHESAR_DB_WAIT_TIMEOUT="1")
    r = run(["check"], env)
    assert r.returncode == 69, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert all(re.match(r"^(ok       |PROBLEM  )\S", l) for l in lines), r.stdout
    assert "\t" not in r.stdout
    database = next(l for l in lines if l.startswith("PROBLEM  database:"))
    assert "Connection refused" in database or "refused" in database, database


def test_check_says_pgdata_does_not_exist_rather_than_empty(volume):
    r = run(["check"], volume.env())
    assert f"{volume.pgdata} does not exist yet: a new cluster will be created at first boot" in r.stdout, r.stdout
    volume.pgdata.mkdir(parents=True)
    r = run(["check"], volume.env())
    assert f"{volume.pgdata} is empty: a new cluster will be created at first boot" in r.stdout, r.stdout


def test_config_json_gives_unset_as_null(volume):
    r = run(["config", "--format", "json"], volume.env())
    assert r.returncode == 0, r.stderr
    settings = {s["variable"]: s for s in json.loads(r.stdout)["settings"]}
    assert settings["MATHESAR_MIGRATE_COMMAND"]["value"] is None
    assert "(unset)" not in r.stdout


def test_config_and_check_say_the_same_of_a_secret_kept_in_the_volume(volume):
    secrets = volume.data / "secrets"
    secrets.mkdir(parents=True, mode=0o700)
    key = secrets / "secret_key"
    key.write_text("k" * 50)
    key.chmod(0o600)
    env = volume.env()
    config = run(["config"], env).stdout
    assert re.search(r"^SECRET_KEY\s+<redacted>\s+\[generated, kept in the volume\]$", config, re.M), config
    assert re.search(r"^POSTGRES_PASSWORD\s+<redacted>\s+\[generated at first boot\]$", config, re.M), config
    check = run(["check"], env).stdout
    assert "SECRET_KEY generated, kept in the volume" in check, check
    assert "POSTGRES_PASSWORD generated at first boot" in check, check
