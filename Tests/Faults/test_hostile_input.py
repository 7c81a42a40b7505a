"""Bad input: a generated table of hostile environments: overlong
values, NUL-free binary junk, unicode look-alikes, negative and huge numbers,
X/X_FILE clashes, directories where files are expected, FIFOs and devices,
and symlink and hard-link tricks on the secrets path pointing outside the
volume. Each must exit 78 naming the variable, show no secret, and write
nothing: not in the volume, not in the run directory, not outside (a canary
directory and every link target are compared before and after)."""
import ast
import hashlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from faults import SCALE, add, record, rng
from harness import PYTHON, Init, Volume

CONTRACT_VARIABLES = [
    "SECRET_KEY", "SECRET_KEY_FILE", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER",
    "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_SSLMODE", "MATHESAR_DATA_DIR", "PGDATA",
    "MATHESAR_RUN_DIR", "MATHESAR_PG_BINDIR", "MATHESAR_APP_COMMAND", "MATHESAR_APP_USER",
    "MATHESAR_MIGRATE_COMMAND", "MATHESAR_RESTART",
    "MATHESAR_STOP_TIMEOUT", "MATHESAR_DB_WAIT_TIMEOUT", "MATHESAR_HEALTHCHECK_URL", "MATHESAR_LOG_FORMAT",
]
SECRETS = {"SECRET_KEY", "POSTGRES_PASSWORD"}
NUMBERS = {"POSTGRES_PORT": (1, 65535, int), "MATHESAR_STOP_TIMEOUT": (1, 3600, float),
           "MATHESAR_DB_WAIT_TIMEOUT": (0, 86400, float)}


@dataclass
class Case:
    id: str
    env: dict                      # values: str or bytes (binary junk)
    named: list                    # variables the error must name
    setup: object = None           # fn(ctx) -> extra env, prepares files in the volume / canary
    secret: bytes = b""            # must not appear in the output
    extra: dict = field(default_factory=dict)


class Context:
    """A volume, a run directory, and a canary directory outside the volume."""

    def __init__(self, root):
        self.root = root
        self.volume = Volume(root)
        self.canary = root / "canary"          # outside MATHESAR_DATA_DIR
        self.canary.mkdir()
        (self.canary / "precious").write_text("outside-the-volume\n")
        (self.canary / "one-line").write_text("a-single-line-outside\n")
        (self.canary / "dir").mkdir()
        (self.canary / "junk").write_bytes(b"\xff\xfe\x80secret\n")
        (self.canary / "nul").write_bytes(b"abc\x00def\n")
        (self.canary / "ok-secret").write_text("a-valid-secret-value\n")
        os.mkfifo(self.canary / "fifo")
        self.secrets = self.volume.data / "secrets"

    def make_secrets_dir(self):
        self.secrets.mkdir(parents=True)
        os.chmod(self.secrets, 0o700)
        return self.secrets


def outside_state(ctx):
    """Every entry of the canary directory: type, owner, mode, size, mtime and content hash."""
    state = {}
    for path in sorted(ctx.canary.rglob("*")) + [ctx.canary]:
        st = path.lstat()
        digest = None
        if stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink, digest)
    return state


def inside_state(ctx):
    if not ctx.volume.data.exists():
        return None
    return {str(p): (p.lstat().st_mode, p.lstat().st_uid, p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(ctx.volume.data.rglob("*"))}


def fixed_cases():
    c = []
    add_case = lambda *a, **k: c.append(Case(*a, **k))  # noqa: E731
    # Overlong values.
    add_case("overlong-host", {"POSTGRES_HOST": "h" * 300, "POSTGRES_PASSWORD": "pw"}, ["POSTGRES_HOST"])
    add_case("overlong-db", {"POSTGRES_DB": "d" * 64}, ["POSTGRES_DB"])
    add_case("overlong-user-100k", {"POSTGRES_USER": "u" * 100_000}, ["POSTGRES_USER"])
    add_case("overlong-secret-key", {"SECRET_KEY": "k" * 5000}, ["SECRET_KEY"], secret=b"k" * 5000)
    add_case("overlong-password", {"POSTGRES_PASSWORD": "p" * 70_000}, ["POSTGRES_PASSWORD"], secret=b"p" * 100)
    add_case("overlong-data-dir", {"MATHESAR_DATA_DIR": "/d" * 600}, ["MATHESAR_DATA_DIR"])
    add_case("overlong-pgdata", {"PGDATA": "/p" * 2000}, ["PGDATA"])
    add_case("overlong-restart", {"MATHESAR_RESTART": "always" * 10_000}, ["MATHESAR_RESTART"])
    add_case("overlong-health-url", {"MATHESAR_HEALTHCHECK_URL": "http://127.0.0.1:8000/" + "p" * 3000}, ["MATHESAR_HEALTHCHECK_URL"])
    add_case("overlong-app-user", {"MATHESAR_APP_USER": "u" * 65}, ["MATHESAR_APP_USER"])
    add_case("overlong-log-format", {"MATHESAR_LOG_FORMAT": "json" * 1000}, ["MATHESAR_LOG_FORMAT"])
    # NUL-free binary junk (not UTF-8).
    add_case("junk-user", {"POSTGRES_USER": b"\xff\xfe\xfd"}, ["POSTGRES_USER"])
    add_case("junk-db", {"POSTGRES_DB": b"mathesar\xc0\xaf"}, ["POSTGRES_DB"])
    add_case("junk-secret-key", {"SECRET_KEY": b"\x80\x81-not-utf8-secret"}, ["SECRET_KEY"], secret=b"not-utf8-secret")
    add_case("junk-password", {"POSTGRES_PASSWORD": b"\xe2\x28\xa1-pw-junk"}, ["POSTGRES_PASSWORD"], secret=b"-pw-junk")
    add_case("junk-data-dir", {"MATHESAR_DATA_DIR": None}, ["MATHESAR_DATA_DIR"],
             setup=lambda ctx: {"MATHESAR_DATA_DIR": bytes(ctx.volume.data) + b"\xff"})
    add_case("junk-app-command", {"MATHESAR_APP_COMMAND": b"\xff\xfe run"}, ["MATHESAR_APP_COMMAND"])
    add_case("junk-migrate-command", {"MATHESAR_MIGRATE_COMMAND": b"python \xed\xa0\x80"}, ["MATHESAR_MIGRATE_COMMAND"])
    add_case("junk-restart-controls", {"MATHESAR_RESTART": b"\x01\x02\x7f"}, ["MATHESAR_RESTART"])
    add_case("junk-port-control", {"POSTGRES_PORT": b"54\x0132"}, ["POSTGRES_PORT"])
    add_case("junk-host", {"POSTGRES_HOST": b"db\x1b[31m.example", "POSTGRES_PASSWORD": "pw"}, ["POSTGRES_HOST"])
    add_case("junk-secret-key-file", {}, ["SECRET_KEY_FILE"], setup=lambda ctx: {"SECRET_KEY_FILE": str(ctx.canary / "junk")})
    add_case("nul-in-password-file", {}, ["POSTGRES_PASSWORD_FILE"], setup=lambda ctx: {"POSTGRES_PASSWORD_FILE": str(ctx.canary / "nul")})
    add_case("c1-control-in-db", {"POSTGRES_DB": "db\u0085name"}, ["POSTGRES_DB"])
    # Unicode look-alikes.
    add_case("arabic-digits-port", {"POSTGRES_PORT": "٥٤٣٢"}, ["POSTGRES_PORT"])
    add_case("fullwidth-port", {"POSTGRES_PORT": "５４３２"}, ["POSTGRES_PORT"])
    add_case("fullwidth-timeout", {"MATHESAR_STOP_TIMEOUT": "９"}, ["MATHESAR_STOP_TIMEOUT"])
    add_case("cyrillic-restart", {"MATHESAR_RESTART": "\u0430lways"}, ["MATHESAR_RESTART"])
    add_case("fullwidth-log-format", {"MATHESAR_LOG_FORMAT": "ｊｓｏｎ"}, ["MATHESAR_LOG_FORMAT"])
    add_case("unicode-host", {"POSTGRES_HOST": "dåtabase.example", "POSTGRES_PASSWORD": "pw"}, ["POSTGRES_HOST"])
    add_case("accented-sslmode", {"POSTGRES_SSLMODE": "prefér"}, ["POSTGRES_SSLMODE"])
    add_case("relative-unicode-dir", {"MATHESAR_DATA_DIR": "relatïve/ⓜathesar"}, ["MATHESAR_DATA_DIR"])
    add_case("space-in-app-user", {"MATHESAR_APP_USER": "ùser name"}, ["MATHESAR_APP_USER"])
    add_case("fullwidth-health-url", {"MATHESAR_HEALTHCHECK_URL": "ｈttp://127.0.0.1/"}, ["MATHESAR_HEALTHCHECK_URL"])
    # Negative and huge numbers.
    for value in ["-1", "0", "65536", "99999999999999999999999999", "0x1538", "+-5432", "5432.0"]:
        add_case(f"port-{value}", {"POSTGRES_PORT": value}, ["POSTGRES_PORT"])
    for value in ["-5", "0", "3601", "1e309", "nan", "-inf", "1e-400", "9" * 400]:
        add_case(f"stop-timeout-{value[:12]}", {"MATHESAR_STOP_TIMEOUT": value}, ["MATHESAR_STOP_TIMEOUT"])
    for value in ["-0.001", "86401", "1e999999", "inf"]:
        add_case(f"wait-timeout-{value[:12]}", {"MATHESAR_DB_WAIT_TIMEOUT": value}, ["MATHESAR_DB_WAIT_TIMEOUT"])
    # Injection-shaped values.
    add_case("host-injection", {"POSTGRES_HOST": "db; rm -rf /", "POSTGRES_PASSWORD": "pw"}, ["POSTGRES_HOST"])
    add_case("user-quote-injection", {"POSTGRES_USER": 'x"; DROP ROLE postgres; --'}, ["POSTGRES_USER"])
    add_case("dotdot-pgdata", {"PGDATA": "/var/lib/mathesar/../../etc"}, ["PGDATA"])
    add_case("unterminated-app-command", {"MATHESAR_APP_COMMAND": "gunicorn 'unterminated"}, ["MATHESAR_APP_COMMAND"])
    add_case("backslash-migrate", {"MATHESAR_MIGRATE_COMMAND": "migrate \\"}, ["MATHESAR_MIGRATE_COMMAND"])
    add_case("unknown-app-user", {"MATHESAR_APP_USER": "no-such-user-for-faults"}, ["MATHESAR_APP_USER"])
    add_case("app-user-bad-group", {"MATHESAR_APP_USER": "0:0:0"}, ["MATHESAR_APP_USER"])
    # X and X_FILE together.
    add_case("clash-secret-key", {"SECRET_KEY": "direct-secret-value"}, ["SECRET_KEY"], secret=b"direct-secret-value",
             setup=lambda ctx: {"SECRET_KEY_FILE": str(ctx.canary / "ok-secret")})
    add_case("clash-password", {"POSTGRES_PASSWORD": "direct-password-value"}, ["POSTGRES_PASSWORD"],
             secret=b"direct-password-value", setup=lambda ctx: {"POSTGRES_PASSWORD_FILE": str(ctx.canary / "ok-secret")})
    add_case("clash-both", {"SECRET_KEY": "sk-value-1", "POSTGRES_PASSWORD": "pw-value-2"}, ["SECRET_KEY", "POSTGRES_PASSWORD"],
             secret=b"sk-value-1", setup=lambda ctx: {"SECRET_KEY_FILE": str(ctx.canary / "ok-secret"),
                                                       "POSTGRES_PASSWORD_FILE": str(ctx.canary / "ok-secret")})
    # Directories, FIFOs and devices where files are expected.
    add_case("secret-file-is-dir", {}, ["SECRET_KEY_FILE"], setup=lambda ctx: {"SECRET_KEY_FILE": str(ctx.canary / "dir")})
    add_case("password-file-is-dir", {}, ["POSTGRES_PASSWORD_FILE"],
             setup=lambda ctx: {"POSTGRES_PASSWORD_FILE": str(ctx.canary / "dir")})
    add_case("secret-file-is-fifo", {}, ["SECRET_KEY_FILE"], setup=lambda ctx: {"SECRET_KEY_FILE": str(ctx.canary / "fifo")})
    add_case("secret-file-is-dev-zero", {"SECRET_KEY_FILE": "/dev/zero"}, ["SECRET_KEY_FILE"])
    add_case("secret-file-is-link-to-dir", {}, ["SECRET_KEY_FILE"], setup=link_to_dir)

    def persisted_is_dir(name):
        def setup(ctx):
            (ctx.make_secrets_dir() / name).mkdir()
            return {}
        return setup
    add_case("persisted-secret-key-is-dir", {}, ["SECRET_KEY"], setup=persisted_is_dir("secret_key"))
    add_case("persisted-password-is-dir", {}, ["POSTGRES_PASSWORD"], setup=persisted_is_dir("postgres_password"))
    add_case("persisted-secret-is-fifo", {}, ["SECRET_KEY"],
             setup=lambda ctx: os.mkfifo(ctx.make_secrets_dir() / "secret_key") or {})

    def secrets_is_file(ctx):
        ctx.volume.data.mkdir(parents=True)
        ctx.secrets.write_text("not a directory\n")
        return {}
    add_case("secrets-dir-is-file", {}, ["SECRET_KEY", "POSTGRES_PASSWORD"], setup=secrets_is_file)
    # Symlink and hard-link tricks on the secrets path, pointing outside the volume.
    add_case("secrets-dir-links-outside", {}, ["SECRET_KEY", "POSTGRES_PASSWORD"], setup=secrets_link(lambda ctx: ctx.canary / "dir"))
    add_case("secrets-dir-links-outside-relative", {}, ["SECRET_KEY", "POSTGRES_PASSWORD"],
             setup=secrets_link(lambda ctx: Path("../canary/dir")))
    add_case("secrets-dir-dangling-link", {}, ["SECRET_KEY", "POSTGRES_PASSWORD"],
             setup=secrets_link(lambda ctx: ctx.canary / "to-be-created"))
    add_case("secrets-dir-link-loop", {}, ["SECRET_KEY", "POSTGRES_PASSWORD"], setup=secrets_link(lambda ctx: Path("secrets")))
    add_case("secret-key-links-outside", {}, ["SECRET_KEY"], setup=secret_link("secret_key", lambda ctx: ctx.canary / "one-line"))
    add_case("secret-key-links-to-multiline", {}, ["SECRET_KEY"], setup=secret_link("secret_key", lambda ctx: ctx.canary / "precious"))
    add_case("secret-key-dangling-link", {}, ["SECRET_KEY"], setup=secret_link("secret_key", lambda ctx: ctx.canary / "new-file"))
    add_case("password-relative-link-outside", {}, ["POSTGRES_PASSWORD"],
             setup=secret_link("postgres_password", lambda ctx: Path("../../canary/one-line")))
    add_case("secret-key-hardlink-outside", {"MATHESAR_APP_USER": "nobody"}, ["SECRET_KEY"], setup=secret_hardlink)
    add_case("secrets-dir-links-outside-app-user", {"MATHESAR_APP_USER": "nobody"}, ["SECRET_KEY", "POSTGRES_PASSWORD"],
             setup=secrets_link(lambda ctx: ctx.canary / "dir"))
    # Several at once: every one is named.
    add_case("many-at-once", {"POSTGRES_PORT": "-1", "MATHESAR_RESTART": b"\xff", "MATHESAR_LOG_FORMAT": "yaml",
                              "POSTGRES_USER": "u" * 64},
             ["POSTGRES_PORT", "MATHESAR_RESTART", "MATHESAR_LOG_FORMAT", "POSTGRES_USER"])
    return c


def link_to_dir(ctx):
    os.symlink(ctx.canary / "dir", ctx.canary / "link-to-dir")
    return {"SECRET_KEY_FILE": str(ctx.canary / "link-to-dir")}


def secrets_link(target):
    def setup(ctx):
        ctx.volume.data.mkdir(parents=True)
        os.symlink(target(ctx), ctx.secrets)
        return {}
    return setup


def secret_link(name, target):
    def setup(ctx):
        os.symlink(target(ctx), ctx.make_secrets_dir() / name)
        return {}
    return setup


def secret_hardlink(ctx):
    os.link(ctx.canary / "one-line", ctx.make_secrets_dir() / "secret_key")
    return {}


def random_cases(count):
    """Generated: invalid UTF-8 junk, out-of-range numbers and overlong values
    for randomly chosen variables."""
    r = rng("hostile-inputs")
    cases = []
    for i in range(count):
        kind = r.choice(["junk", "junk", "number", "overlong"])
        if kind == "number":
            name = r.choice(sorted(NUMBERS))
            low, high, _ = NUMBERS[name]
            value = r.choice([str(-r.randint(1, 10 ** r.randint(1, 30))), str(high + r.randint(1, 10 ** r.randint(1, 30))),
                              f"{r.uniform(high + 1, 1e300):.6e}", f"-{r.uniform(0.001, 1e300):.3e}"])
            if name == "POSTGRES_PORT" and r.random() < 0.3:
                value = f"{r.randint(low, high)}.{r.randint(1, 9)}"  # not a whole number
        elif kind == "overlong":
            name = r.choice(["POSTGRES_DB", "POSTGRES_USER", "POSTGRES_HOST", "MATHESAR_DATA_DIR", "SECRET_KEY",
                             "POSTGRES_PASSWORD", "MATHESAR_APP_USER", "MATHESAR_HEALTHCHECK_URL"])
            limits = {"POSTGRES_DB": 63, "POSTGRES_USER": 63, "POSTGRES_HOST": 253, "MATHESAR_DATA_DIR": 1024,
                      "SECRET_KEY": 4096, "POSTGRES_PASSWORD": 4096, "MATHESAR_APP_USER": 64,
                      "MATHESAR_HEALTHCHECK_URL": 2048}
            length = r.randint(limits[name] + 1, 120_000)
            value = ("/" if name == "MATHESAR_DATA_DIR" else "http://h/" if name == "MATHESAR_HEALTHCHECK_URL" else "") + \
                "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(64)) * (length // 64 + 1)
            value = value[:length]
        else:
            name = r.choice(CONTRACT_VARIABLES)
            raw = bytearray(r.randint(1, 255) for _ in range(r.randint(1, 300)))
            raw.insert(r.randint(0, len(raw)), r.choice([0xFF, 0xFE, 0xC0, 0x80]))  # never valid UTF-8
            value = bytes(raw)
        env = {name: value}
        if name == "POSTGRES_HOST":
            env["POSTGRES_PASSWORD"] = "pw"
        secret = value[:40].encode() if isinstance(value, str) and name in SECRETS else b""
        cases.append(Case(f"random-{i}-{kind}-{name}", env, [name], secret=secret))
    return cases


CASES = fixed_cases() + random_cases(SCALE.junk_inputs)


def names(variable):
    return re.compile(rf"(^|[\s-]){re.escape(variable)}(=|:)", re.M)


@pytest.fixture(scope="module")
def tally():
    counts = {"inputs": 0, "exit_78": 0, "named": 0, "writes_outside": 0, "secrets_shown": 0}
    yield counts
    fixed = len(fixed_cases())
    record("hostile_input", inputs_tried=counts["inputs"], fixed_table=fixed, generated=counts["inputs"] - fixed,
           exited_78=counts["exit_78"], variable_named=counts["named"], writes_outside_data_dir=counts["writes_outside"],
           secrets_shown=counts["secrets_shown"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_environment_exits_78_naming_the_variable_and_writes_nothing(case, tally):
    root = Path(tempfile.mkdtemp(prefix="msi-faults-hostile-"))
    os.chmod(root, 0o755)
    try:
        ctx = Context(root)
        env = ctx.volume.env(POSTGRES_PORT="55432")  # a boot that got past configuration would still not find a server
        env.update({k: v for k, v in case.env.items() if v is not None})
        if case.setup:
            env.update(case.setup(ctx))
        outside, inside = outside_state(ctx), inside_state(ctx)
        tally["inputs"] += 1
        init = Init(["run", "--", "true"], env)
        code = init.wait(20)
        output = init.output
        unchanged = outside_state(ctx) == outside and inside_state(ctx) == inside and not ctx.volume.run.exists()
        tally["writes_outside"] += 0 if unchanged else 1
        shown = bool(case.secret) and case.secret.decode("utf-8", "replace") in output
        tally["secrets_shown"] += shown
        assert code == 78, output[-3000:]
        tally["exit_78"] += 1
        for variable in case.named:
            assert names(variable).search(output), (variable, output[-3000:])
        tally["named"] += 1
        assert unchanged, "something was written"
        assert not shown, "a secret value was shown"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_values_that_are_not_ours_reach_the_app_byte_for_byte(external_env, tmp_path):
    """Junk in a variable the contract does not define is the app's business:
    it must arrive unchanged (not "repaired" into U+FFFD), as must a value
    that starts with a combining mark right after the "=" sign."""
    values = {
        "JUNKTEST_JUNK": b"\xff\xfe\x80abc\xc3\xa9\xed\xa0\x80",
        "JUNKTEST_PRIVATE_USE": "\U0010FF85\U0010FFFF".encode(),
        "JUNKTEST_COMBINING": "\u0301accent".encode(),
        "JUNKTEST_PLAIN": "ünïcødé ✓".encode(),
    }
    out = tmp_path / "env"
    script = ("import os, sys; open(sys.argv[1], 'w').write(repr({k.decode(): v for k, v in os.environb.items() "
              "if k.startswith(b'JUNKTEST_')}))")
    env = external_env(MATHESAR_RESTART="never")
    env.update(values)
    init = Init(["run", "--", PYTHON, "-c", script, str(out)], env)
    assert init.wait(30) == 0, init.output
    assert ast.literal_eval(out.read_text()) == values
    record("hostile_input", unrelated_binary_values_passed_through="byte for byte")
