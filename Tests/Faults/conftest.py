"""Fault-injection suite over the test kit (Tests/kit) and its shared
fixtures; adds the size knob (FAULTS_SCALE) and the per-run figures that
report.py turns into RESULTS.md."""
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Tests/ for the kit; Tests/EndToEnd for `harness`, the kit's older name, which tests import.
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "EndToEnd")]

from kit.fixtures import external_env, pg_server, require_build, volume  # noqa: E402,F401

from faults import FIGURES, SCALE, SEED  # noqa: E402


def pytest_sessionstart(session):
    require_build()
    session.config._faults_started = time.time()
    session.config._faults_tests = {}


def pytest_report_header(config):
    return f"faults: FAULTS_SCALE={SCALE.name} FAULTS_SEED={SEED}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    tests = item.config._faults_tests
    entry = tests.setdefault(item.nodeid, {"outcome": "passed", "seconds": 0.0})
    entry["seconds"] = round(entry["seconds"] + report.duration, 2)
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped:
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not hasattr(config, "_faults_started"):
        return
    repo = HERE.parents[1]
    try:
        revision = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "Sources"],
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        revision, dirty = "unknown", False
    summary = {
        "scale": SCALE.name,
        "seed": SEED,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(config._faults_started)),
        "seconds": round(time.time() - config._faults_started, 1),
        "exit_status": int(exitstatus),
        "revision": revision + ("+uncommitted Sources" if dirty else ""),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
        "tests": config._faults_tests,
        "figures": FIGURES,
    }
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"summary-{SCALE.name}.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal:
        terminal.write_line(f"faults: FAULTS_SCALE={SCALE.name} FAULTS_SEED={SEED}; figures written to {path.relative_to(repo)} (python Tests/Faults/report.py makes RESULTS.md)")
