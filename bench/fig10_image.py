"""Figure 10, the image: its size (`podman image inspect`) and its first
`podman run` on a fresh volume to the first HTTP answer (bundled PostgreSQL,
the template copied, the stand-in app as in docker/Dockerfile).

The image is $IMAGE (default mathesar-init:test, the tag the image test of
`./dev test` builds before the bench smoke) when it exists; otherwise
docker/Dockerfile is built here under that tag with the binaries of
.build/release, and the figure says so. With SKIP_IMAGE=1 (no image test
wanted) and no image, or without podman, the figure is skipped with the
reason. podman runs through docker/podman-setup.sh (runc, cgroupfs), as the
image test runs it."""
import os
import shutil
import subprocess
import time

from common import REPO, log
from fig9_standin import answers
from kit import free_port
from stats import fmt_ms, med, summary, target_line

KEY = "10_image"
SETUP = REPO / "docker" / "podman-setup.sh"


PODMAN_ENV = {}  # the environment docker/podman-setup.sh leaves (its containers.conf), read once


def pod(*args, timeout=120, check=True):
    """podman with the image test's setup; (returncode, stdout)."""
    if not PODMAN_ENV:
        r = subprocess.run(["bash", "-c", 'source "$0" >&2 && echo "$CONTAINERS_CONF"', str(SETUP)],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0 or not r.stdout.strip():
            raise RuntimeError(f"docker/podman-setup.sh failed: {r.stderr.strip()[-400:]}")
        PODMAN_ENV.update(os.environ, CONTAINERS_CONF=r.stdout.strip())
    r = subprocess.run(["podman", "--runtime", "runc", *map(str, args)], env=PODMAN_ENV,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(map(str, args[:2]))} exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return r.returncode, r.stdout.strip()


def build(image):
    args = ["build", "--pull=never", "--network", "host", "--format", "docker",
            "--ignorefile", "docker/Dockerfile.dockerignore", "--build-arg", "MATHESAR_INIT_BINARIES=prebuilt",
            "--build-arg", "MATHESAR_INIT_BINDIR=.build/release"]
    if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):  # the image test's proxy CA, lent to pip only
        args += ["--volume", "/etc/ssl/certs/ca-certificates.crt:/tmp/host-ca-certificates.crt:ro",
                 "--build-arg", "PIP_CERT_FILE=/tmp/host-ca-certificates.crt"]
    t = time.monotonic()
    r = subprocess.run(["podman", "--runtime", "runc", *args, "-t", image, "-f", "docker/Dockerfile", "."], cwd=REPO,
                       env=PODMAN_ENV, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"podman build of docker/Dockerfile exited {r.returncode}: {r.stderr.strip()[-600:]}")
    return time.monotonic() - t


def first_run(image, run_id, timeout):
    """ms from `podman run` on a fresh volume to the first HTTP answer."""
    vol, name, port = f"{run_id}-data", f"{run_id}-app", free_port()
    pod("volume", "create", vol)
    try:
        t0 = time.monotonic()
        pod("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", "-v", f"{vol}:/var/lib/mathesar", image)
        deadline = time.monotonic() + timeout
        polls = 0
        while time.monotonic() < deadline:
            if answers(port):
                return (time.monotonic() - t0) * 1000
            polls += 1
            if polls % 100 == 0:  # a container that exited answers nothing: say why
                _, state = pod("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name, check=False)
                if state.startswith("false"):
                    _, logs = pod("logs", name, check=False)
                    raise RuntimeError(f"container exited ({state}) before answering: {logs[-400:]}")
            time.sleep(0.01)
        raise RuntimeError(f"no HTTP answer in {timeout} s")
    finally:
        pod("rm", "-f", "-v", "-t", "0", name, check=False)
        pod("volume", "rm", "-f", vol, check=False)


def measure(ctx, rounds, timeout):
    image = os.environ.get("IMAGE", "mathesar-init:test")
    fig = {"unit": "ms", "image": image, "samples": {"ours": []}, "errors": {}, "built_here": None, "skipped": None}
    if not shutil.which("podman"):
        fig["skipped"] = "podman not installed (docker/podman-setup.sh installs it)"
        return fig
    try:
        exists = pod("image", "exists", image, check=False)[0] == 0
        if not exists:
            if os.environ.get("SKIP_IMAGE") == "1":
                fig["skipped"] = f"no image {image} and SKIP_IMAGE=1: not built"
                return fig
            log(f"image: {image} not found: building docker/Dockerfile (binaries from .build/release) ...")
            fig["built_here"] = round(build(image), 1)
            log(f"image: built {image} in {fig['built_here']} s")
        fig["size_bytes"] = int(pod("image", "inspect", "-f", "{{.Size}}", image)[1])
        for i in range(rounds):
            ms = first_run(image, f"msi-bench-{os.getpid()}-{i}", timeout)
            fig["samples"]["ours"].append(ms)
            log(f"image: first podman run {i + 1}/{rounds}: first HTTP answer {ms:.0f} ms")
    except Exception as e:  # noqa: BLE001
        fig["errors"]["ours"] = str(e)[:600]
        log(f"image: failed: {str(e)[:300]}")
    return fig


def section(results, ours_fail):
    """(RESULTS.md lines, target lines) of figure 10."""
    fig = results["figures"].get(KEY)
    if not fig:
        return [], []
    L = ["## 10. The image: size and first `podman run` to the first HTTP answer", ""]
    if fig.get("skipped"):
        L += [f"Skipped: {fig['skipped']}.", ""]
        return L, ["- 10 first podman run <= 1.5 s: n/a (skipped)"]
    how = (f"built here from docker/Dockerfile in {fig['built_here']} s (no image {fig['image']} was found)"
           if fig.get("built_here") is not None else "built before this run (the image test's tag)")
    L += [f"Image `{fig['image']}`, {how}. A fresh volume per run; ms from `podman run -d` to the first HTTP "
          "answer of `GET /` on the published port (bundled PostgreSQL, the template copied).", ""]
    if fig.get("size_bytes"):
        L.append(f"- size: {fig['size_bytes'] / 1e6:.0f} MB (`podman image inspect`)")
    s = summary(fig["samples"]["ours"])
    if s:
        L.append(f"- first `podman run` -> first HTTP answer: median {fmt_ms(s['median'], 'ms')} "
                 f"(min {fmt_ms(s['min'], 'ms')}, max {fmt_ms(s['max'], 'ms')}, n {s['n']})")
    if fig["errors"].get("ours"):
        L.append(f"- ours: failed: {fig['errors']['ours']}")
    L.append("")
    targets = [target_line("10 first podman run -> first HTTP answer <= 1.5 s", med(fig["samples"]["ours"]),
                           1500 if s else None, "ms")]
    return L, targets
