"""Runs the stand-in app (docker/standin/) and mathesar-init's SQL upgrade
script (docker/app/mathesar_sql.py) for tests: releases laid out by
make-release.sh, gunicorn on a free port, an HTTP client with a session
cookie and CSRF token, and the script's JSON lines."""
import http.cookiejar
import itertools
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "EndToEnd"))
from harness import REPO, base_env, free_port  # noqa: E402

STANDIN = REPO / "docker" / "standin"
SCRIPT = REPO / "docker" / "app" / "mathesar_sql.py"
VENV = (REPO / ".cache").resolve() / "standin-venv"  # one path for worktrees sharing .cache
PYTHON = VENV / "bin" / "python"
LOCK_CLASS = 0x4D534152
# The internal role's password on the test server.
INTERNAL_PASSWORD = "internal-pw-7Qx"
_names = itertools.count()


def unique(prefix):
    """A name no other test of this session uses (databases, roles)."""
    return f"{prefix}_{next(_names)}"


def make_release(dest, release):
    subprocess.run(["sh", str(STANDIN / "make-release.sh"), str(dest), str(release)], check=True)
    return Path(dest)


def app_env(server=None, database=None, role="mathesar", password=None, **extra):
    """The app's environment: the internal database on `server`, if given."""
    env = base_env(DJANGO_SETTINGS_MODULE="config.settings.production", **extra)
    if server is not None:
        env.update(POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(server.port), POSTGRES_DB=database,
                   POSTGRES_USER=role, POSTGRES_PASSWORD=password)
    return env


def run_install(release_dir, env):
    return subprocess.run([str(PYTHON), "-m", "mathesar.install", "--skip-confirm"], cwd=release_dir, env=env,
                          capture_output=True, text=True)


class Script:
    """One run of mathesar_sql.py in a release's directory."""

    def __init__(self, release_dir, args, env):
        self.proc = subprocess.Popen([str(PYTHON), str(SCRIPT), *args], cwd=release_dir, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(self, timeout=120):
        out, err = self.proc.communicate(timeout=timeout)
        self.stdout, self.stderr, self.rc = out, err, self.proc.returncode
        self.records = [json.loads(line) for line in out.splitlines()]
        return self


def run_script(release_dir, args, env):
    return Script(release_dir, args, env).wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Client:
    """A browser-like client: keeps Django's session and CSRF cookies."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect)

    def request(self, path, data=None, headers=None, method=None):
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=60) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def csrf(self):
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def post_form(self, path, fields):
        self.request(path)  # renders the form: sets the csrftoken cookie
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf()}).encode()
        return self.request(path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def complete_installation(self, username="admin", password="admin-password-1"):
        r = self.post_form("/complete_installation/", {"username": username, "password": password})
        assert r.status == 302 and r.headers["Location"] == "/", (r.status, r.body[:300])
        return r

    def rpc(self, method, **params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        return self.request("/api/rpc/v0/", body, {"Content-Type": "application/json", "X-CSRFToken": self.csrf()})

    def call(self, method, **params):
        """An RPC call that must succeed; returns its result."""
        r = self.rpc(method, **params)
        answer = r.json()
        assert r.status == 200 and "error" not in answer, (r.status, answer)
        return answer["result"]

    def upload(self, filename, content):
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.request("/api/ui/v0/data_files/", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRFToken": self.csrf()})


class App:
    """gunicorn serving a release of the stand-in on 127.0.0.1."""

    def __init__(self, release_dir, env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(VENV / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{self.port}",
                                      "--workers", "1"], cwd=release_dir, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"gunicorn exited: {self.log.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.05)

    def _answers(self):
        # Any HTTP answer counts: with a restricted ALLOWED_HOSTS it is a 400.
        try:
            with urllib.request.urlopen(self.url + "/standin/version/", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def client(self):
        return Client(self.url)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

