"""What every benchmark figure shares: paths, the run's context, the subjects
(each init's argv and environment), launching one as PID 1 through the test
kit (Tests/kit), the external database of figures 6-8."""
import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "Tests"))  # the test kit

from kit import PG_BIN, Pid1, PostgresServer, clean_env, wait_until  # noqa: E402,F401

OUT = HERE / "out"
BENCHKIT = OUT / "benchkit"
DEMO_APP = HERE / "helpers" / "demo_app.py"
PG_IMAGE = HERE / "baselines" / "postgres-image.sh"
MATHESAR_IMAGE = HERE / "baselines" / "mathesar-image.sh"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PEERS = ["tini", "tini-static", "dumb-init", "catatonit", "supervisord"]
EXTDB_PASSWORD = "bench-password"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def base_env():
    """The kit's scrubbed environment, in one locale for every subject."""
    env = clean_env(LANG="C.UTF-8")
    env.pop("LC_ALL", None)
    return env


def read_marks(path):
    """{mark: epoch ns} from a marks file (the baselines' and demo app's "NAME NS" lines), first of each."""
    marks = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    marks.setdefault(parts[0], int(parts[1]))
    except FileNotFoundError:
        pass
    return marks


def read_num(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def settle():
    """Flush the page cache's dirty pages (initdb's, deleted volumes') so that
    their writeback does not land in the next figure's samples."""
    os.sync()
    time.sleep(0.5)


# --------------------------------------------------------------------------
# One subject as PID 1 in a new PID namespace: the kit's launcher.

LIVE = set()  # subjects not yet closed, killed on the way out


class Subject(Pid1):
    """The kit's Pid1, registered in LIVE until closed. Its output goes to
    `log`; with capture, also into `lines`/`times` (ours' boot phases). A
    signal to a subject that is gone already is no error here."""

    def __init__(self, argv, env, log, capture=False, cwd=None):
        super().__init__(argv, env, cwd=cwd, log=log, capture=capture, start_new_session=True)
        LIVE.add(self)

    @property
    def pid1(self):
        try:
            return Pid1.pid1.fget(self)
        except RuntimeError:  # unshare exited before PID 1 appeared
            return None

    def signal(self, signo):
        try:
            super().signal(signo)
        except (ProcessLookupError, RuntimeError):
            pass

    def timed_lines(self):
        """[(arrival epoch ns, text)] of the captured output."""
        return list(zip(self.times, [text for _, text in self.lines]))

    def close(self):
        LIVE.discard(self)
        super().close()


def kill_live():
    for inst in list(LIVE):
        inst.kill()


def stop_instance(inst, timeout=10):
    """End an instance: SIGTERM to PID 1, then SIGKILL."""
    if inst.alive():
        inst.signal(signal.SIGTERM)
        if not inst.exited_within(timeout):
            inst.kill()
            return
    inst.close()


# --------------------------------------------------------------------------
# The run's context

class Ctx:
    def __init__(self, args):
        self.args = args
        self.pgbin = args.pgbin
        self.work = Path(args.workdir)
        self.ours = Path(args.ours).absolute()
        self.ours_error = None
        self.ours_env = dict(kv.split("=", 1) for kv in args.ours_env)
        self.extdb = None        # the kit's PostgresServer of figures 6-8
        self.extdb_error = None
        self.counter = 0
        self.available = {p: bool(shutil.which(p)) for p in PEERS}

    def fresh_dir(self, name):
        self.counter += 1
        d = self.work / f"{self.counter:04d}-{name}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def ours_ok(self):
        return self.ours_error is None


# --------------------------------------------------------------------------
# Subjects: how each init runs a child

def init_prefix(name, ctx, d, child):
    """argv that runs `child` under init `name` as PID 1 (host pids unknown yet)."""
    if name in ("direct", "own-children"):
        return list(child)
    if name in ("tini", "tini-static"):
        return [name, "--", *child]
    if name == "dumb-init":
        return ["dumb-init", *child]
    if name == "catatonit":
        return ["catatonit", "--", *child]
    if name == "supervisord":
        conf = d / "supervisord.conf"
        conf.write_text(f"""[supervisord]
nodaemon=true
user=root
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}

[program:app]
command={shlex.join(str(c) for c in child)}
autostart=true
autorestart=false
startsecs=0
startretries=0
stopsignal=TERM
stopwaitsecs=10
redirect_stderr=true
stdout_logfile={d}/app.log
""")
        return ["supervisord", "-n", "-c", str(conf)]
    if name == "ours":
        return [str(ctx.ours), "run", "--", *child]
    raise ValueError(name)


def ours_external_env(ctx, d):
    """mathesar-init against an already running external server (figures 6-8),
    so that these figures measure the init itself, not a database boot."""
    env = base_env()
    env.update(
        MATHESAR_DATA_DIR=str(d / "data"), MATHESAR_RUN_DIR=str(d / "run"), MATHESAR_PG_BINDIR=ctx.pgbin,
        MATHESAR_RESTART="never", POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(ctx.extdb.port),
        POSTGRES_USER="mathesar", POSTGRES_PASSWORD=EXTDB_PASSWORD, POSTGRES_DB="mathesar_django",
        POSTGRES_SSLMODE="disable",
    )
    env.update(ctx.ours_env)
    return env


def ours_bundled_env(ctx, vol, port):
    env = base_env()
    env.update(
        MATHESAR_DATA_DIR=str(vol["data"]), MATHESAR_RUN_DIR=str(vol["run"]), MATHESAR_PG_BINDIR=ctx.pgbin,
        MATHESAR_RESTART="never", MATHESAR_LOG_FORMAT="json", POSTGRES_PORT=str(port),
    )
    env.update(ctx.ours_env)
    return env


def subject_env(name, ctx, d):
    if name == "ours":
        return ours_external_env(ctx, d)
    env = base_env()
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    return env


# --------------------------------------------------------------------------
# External database for ours in figures 6-8 (the kit's throwaway server).

def start_extdb(ctx):
    server = PostgresServer(bindir=ctx.pgbin).init().start()
    try:
        server.make_role("mathesar", EXTDB_PASSWORD, owns="mathesar_django", superuser=True)
    except Exception:
        server.destroy()
        raise
    ctx.extdb = server


def stop_extdb(ctx):
    if ctx.extdb:
        ctx.extdb.destroy()
        ctx.extdb = None
