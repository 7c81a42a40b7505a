"""The one way of choosing PostgreSQL binaries, and the one throwaway
PostgreSQL server (a fresh cluster, or one that a volume already holds)."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from kit.env import clean_env
from kit.paths import REPO
from kit.ports import free_port
from kit.wait import wait_until

# Where each major's server binaries are: Debian's package for 15 (what the
# image ships), the relocatable builds `./dev setup` fetches into .cache for
# the newer ones (upgrades). An MSI_TEST_PG*_BINDIR variable overrides one.
_DEFAULTS = {15: Path("/usr/lib/postgresql/15/bin"), 16: REPO / ".cache" / "pg" / "16" / "bin",
             17: REPO / ".cache" / "pg" / "17" / "bin", 18: REPO / ".cache" / "pg" / "18" / "bin"}
_OVERRIDES = {15: "MSI_TEST_PG_BINDIR", 16: "MSI_TEST_PG16_BINDIR", 17: "MSI_TEST_PG17_BINDIR",
              18: "MSI_TEST_PG18_BINDIR"}


def pg_bindir(major=15):
    """The bin directory of PostgreSQL `major` (15 to 18) for tests and benchmarks."""
    if major not in _DEFAULTS:
        raise ValueError(f"no PostgreSQL {major} for tests: one of {', '.join(map(str, _DEFAULTS))}")
    return Path(os.environ.get(_OVERRIDES[major]) or _DEFAULTS[major])


PG_BIN = pg_bindir(15)
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]


def as_postgres(cmd, **kw):
    """subprocess.run of cmd as the postgres OS user."""
    return subprocess.run([*AS_POSTGRES, *map(str, cmd)], **kw)


def controldata_state(pgdata, bindir=PG_BIN):
    """pg_controldata's "Database cluster state" of pgdata ("shut down",
    "in production", ...), or None when it cannot be read."""
    try:
        out = subprocess.run([Path(bindir) / "pg_controldata", str(pgdata)], capture_output=True, text=True,
                             timeout=10, env=clean_env(LC_ALL="C")).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Database cluster state:\s+(.*)", out)
    return m.group(1).strip() if m else None


class PostgresServer:
    """A real PostgreSQL server run as the postgres OS user, in a temporary
    root (socket directory, log; the cluster too unless `data` is given).

    Fresh: `PostgresServer().init().start()` makes a cluster (local trust,
    SCRAM on TCP with SUPERUSER_PASSWORD) and serves it on 127.0.0.1:port.
    Existing: `PostgresServer(data=volume.pgdata, tcp=False)` serves a cluster
    made elsewhere (a volume's), on its socket only. `settings` are more `-c`
    options. As a context manager it starts, then stops and removes the root."""

    SUPERUSER_PASSWORD = "test-superuser-pw"

    def __init__(self, bindir=None, port=None, data=None, tcp=True, settings=None, start_timeout=30):
        self.bindir = Path(bindir or PG_BIN)
        self.root = Path(tempfile.mkdtemp(prefix="msi-pg-"))
        os.chmod(self.root, 0o755)
        self.fresh = data is None
        self.data = self.root / "data" if self.fresh else Path(data)
        self.socket_dir = self.root / "sock"
        self.socket_dir.mkdir()
        self.log = self.root / "log"
        pg = pwd.getpwnam("postgres")
        for path in (self.root, self.socket_dir):
            os.chown(path, pg.pw_uid, pg.pw_gid)
        self.port = port or free_port()
        self.settings = {"listen_addresses": "127.0.0.1" if tcp else "", "port": self.port,
                         "unix_socket_directories": self.socket_dir, **({"fsync": "off"} if self.fresh else {}),
                         **(settings or {})}
        self.start_timeout = start_timeout
        self.proc = None

    def init(self):
        pwfile = self.root / "pw"
        pwfile.write_text(self.SUPERUSER_PASSWORD)
        pg = pwd.getpwnam("postgres")
        os.chown(pwfile, pg.pw_uid, pg.pw_gid)
        as_postgres([self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                     "--auth-host=scram-sha-256", "--pwfile", pwfile, "-N", "-E", "UTF8", "--locale=C.UTF-8"],
                    check=True, capture_output=True)
        pwfile.unlink()
        return self

    def start(self):
        options = [a for k, v in self.settings.items() for a in ("-c", f"{k}={v}")]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*AS_POSTGRES, str(self.bindir / "postgres"), "-D", str(self.data), *options],
                                         stdout=subprocess.DEVNULL, stderr=log)
        ready = wait_until(lambda: self.proc.poll() is not None or self._ready(), timeout=self.start_timeout,
                           interval=0.02)
        if not ready or self.proc.poll() is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            raise RuntimeError(f"test PostgreSQL ({self.bindir}) did not start on {self.data}:\n"
                               + self.log.read_text(errors="replace")[-3000:])
        return self

    def _ready(self):
        return subprocess.run([self.bindir / "pg_isready", "-h", str(self.socket_dir), "-p", str(self.port)],
                              capture_output=True).returncode == 0

    def stop(self):
        """A fast shutdown (SIGINT), waited for."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(60)
        self.proc = None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()

    def sql(self, statement, database="postgres", check=True):
        """psql -tAc as the superuser over the socket; stdout stripped.
        Raises RuntimeError with psql's stderr when it fails (check)."""
        r = as_postgres([self.bindir / "psql", "-X", "-h", self.socket_dir, "-p", self.port, "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", statement], capture_output=True, text=True,
                        env=clean_env())
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout.strip()

    def psql(self, statement, database):
        return self.sql(statement, database)

    def databases(self):
        return self.sql("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1").split()

    def amcheck(self):
        """pg_amcheck over every database: heap, and btree with heapallindexed and rootdescend."""
        r = as_postgres([self.bindir / "pg_amcheck", "-h", self.socket_dir, "-p", self.port, "-U", "postgres",
                         "--all", "--install-missing", "--heapallindexed", "--rootdescend"],
                        capture_output=True, text=True, env=clean_env())
        return r.returncode, r.stdout + r.stderr

    def make_role(self, name, password, owns=None, superuser=False):
        if owns:
            self.sql(f"DROP DATABASE IF EXISTS \"{owns}\"")
        self.sql(f"DROP ROLE IF EXISTS \"{name}\"")
        self.sql(f"CREATE ROLE \"{name}\" LOGIN {'SUPERUSER' if superuser else ''} PASSWORD '{password}'")
        if owns:
            self.sql(f"CREATE DATABASE \"{owns}\" OWNER \"{name}\"")

    def external_env(self, volume, user, password, database, **extra):
        return volume.env(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=self.port, POSTGRES_USER=user,
                          POSTGRES_PASSWORD=password, POSTGRES_DB=database, **extra)
