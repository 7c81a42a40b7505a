"""PID 1 duties: the real binary as PID 1 of a new PID namespace,
with an external test PostgreSQL so that boots take milliseconds."""
import json
import re
import subprocess
import os
import signal
import time
from pathlib import Path

import pytest

from harness import APPS, INIT, PYTHON, Init


def run_app(env, *command, timeout=30):
    init = Init(["run", "--", *command], env)
    code = init.wait(timeout)
    return code, init


@pytest.mark.parametrize("code", [0, 1, 2, 64, 127, 255])
def test_exit_codes_pass_through(external_env, code):
    status, init = run_app(external_env(MATHESAR_RESTART="never"), "sh", "-c", f"exit {code}")
    assert status == code, init.output


@pytest.mark.parametrize("signo,expected", [(signal.SIGTERM, 143), (signal.SIGUSR1, 138), (signal.SIGUSR2, 140)])
def test_death_by_signal_gives_128_plus_n(external_env, signo, expected):
    status, init = run_app(external_env(MATHESAR_RESTART="never"), "sh", "-c", f"kill -{signo.name[3:]} $$")
    assert status == expected, init.output


def test_missing_program_exits_127(external_env):
    status, init = run_app(external_env(), "no-such-program-xyz", "arg")
    assert status == 127
    assert "no-such-program-xyz: command not found" in init.output


def test_not_executable_exits_126(external_env, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    status, init = run_app(external_env(), str(script))
    assert status == 126
    assert "cannot be executed" in init.output and str(script) in init.output


def test_app_command_from_environment_is_split_with_shell_quoting(external_env, tmp_path):
    out = tmp_path / "args"
    env = external_env(MATHESAR_RESTART="never",
                       MATHESAR_APP_COMMAND=f"""{PYTHON} -c 'import sys; open(sys.argv[1], "w").write(repr(sys.argv[2:]))' {out} "two words" 'single $HOME' back\\ slash""")
    init = Init([], env)
    assert init.wait() == 0, init.output
    assert out.read_text() == repr(["two words", "single $HOME", "back slash"])


def test_arguments_take_precedence_over_app_command_variable(external_env):
    env = external_env(MATHESAR_RESTART="never", MATHESAR_APP_COMMAND="sh -c 'exit 9'")
    status, init = run_app(env, "sh", "-c", "exit 4")
    assert status == 4


def test_child_starts_with_clean_signal_state(external_env):
    # grep reads its own status right after exec, before anything could change it
    # (Python, for one, ignores SIGPIPE itself at start).
    status, init = run_app(external_env(MATHESAR_RESTART="never"), "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status")
    assert status == 0, init.output
    assert "SigBlk:\t0000000000000000" in init.output
    assert "SigIgn:\t0000000000000000" in init.output


def test_child_has_only_stdio_and_its_own_session(external_env):
    status, init = run_app(external_env(MATHESAR_RESTART="never"), str(APPS / "inspect_self.py"))
    assert status == 0, init.output
    out = init.output
    assert "fds=0,1,2\n" in out + "\n"
    line = next(l for l in out.splitlines() if "pgid=" in l)
    fields = dict(part.split("=") for part in line.split("| ")[-1].split())
    assert fields["pid"] == fields["pgid"] == fields["sid"], line  # own session and group


def test_app_runs_as_app_user_with_its_groups_and_home(external_env):
    status, init = run_app(external_env(MATHESAR_RESTART="never", MATHESAR_APP_USER="nobody"), str(APPS / "inspect_self.py"))
    assert status == 0, init.output
    assert "uid=65534 gid=65534 groups=65534" in init.output
    assert "home=/nonexistent user=nobody" in init.output
    # The trampoline that dropped privileges leaves nothing on argv but the app's own.
    assert "argv=['" + str(APPS / "inspect_self.py") + "']" in init.output


def test_unknown_app_user_is_a_configuration_error(external_env):
    status, init = run_app(external_env(MATHESAR_APP_USER="no-such-user-xyz"), "true")
    assert status == 78
    assert "MATHESAR_APP_USER" in init.output and "no-such-user-xyz" in init.output


def recorder(external_env, tmp_path, **extra):
    record = tmp_path / "signals"
    env = external_env(RECORD=record, **extra)
    init = Init(["run", "--", str(APPS / "signal_recorder.py")], env)
    init.wait_for("recorder ready")
    return init, record


def received(record):
    return [line for line in record.read_text().splitlines() if line != "READY"]


def test_forwarded_signals_arrive_exactly_once(external_env, tmp_path):
    init, record = recorder(external_env, tmp_path, MATHESAR_RESTART="never")
    sent = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU] * 3
    for signo in sent:
        init.signal(signo)
        deadline = time.monotonic() + 5
        while len(received(record)) < sent.index(signo) + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.02)
    time.sleep(0.2)
    assert received(record) == [s.name for s in sent]
    init.signal(signal.SIGTERM)
    assert init.wait() == 143  # the recorder does not handle SIGTERM: it dies of it


def test_forwarded_signals_reach_the_apps_main_process_only(external_env, tmp_path):
    record = tmp_path / "signals"
    # Two grandchildren in the app's process group. The main process records
    # SIGHUP, then sends SIGUSR1 to its whole group. Pending standard signals
    # are handled lowest number first, so a grandchild that records SIGUSR1
    # without a SIGHUP before it never got SIGHUP from PID 1.
    script = ("import os, signal, subprocess, sys\n"
              f"record = open('{record}', 'a', buffering=1)\n"
              "def hup(*a):\n"
              "    record.write('main:SIGHUP\\n')\n"
              "    os.killpg(0, signal.SIGUSR1)\n"
              "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
              "signal.signal(signal.SIGHUP, hup)\n"
              f"children = [subprocess.Popen([sys.executable, '{APPS / 'signal_recorder.py'}']) for _ in range(2)]\n"
              "[c.wait() for c in children]\n")
    init = Init(["run", "--", PYTHON, "-c", script], external_env(RECORD=record, MATHESAR_RESTART="never"))
    deadline = time.monotonic() + 10
    while record.exists() is False or record.read_text().count("READY") < 2:
        assert time.monotonic() < deadline, init.output
        time.sleep(0.01)
    init.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while received(record).count("SIGUSR1") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received(record).count("SIGUSR1") == 2, (received(record), init.output)
    assert received(record).count("main:SIGHUP") == 1
    assert received(record).count("SIGHUP") == 0  # no grandchild got it
    init.signal(signal.SIGTERM)
    init.wait()


def test_orderly_stop_exits_with_the_apps_status(external_env, tmp_path):
    init, record = recorder(external_env, tmp_path, TERM_EXIT="0")
    init.signal(signal.SIGTERM)
    assert init.wait() == 0
    assert received(record) == ["SIGTERM"]


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_also_stop_with_sigterm_to_the_app(external_env, tmp_path, signo):
    init, record = recorder(external_env, tmp_path, TERM_EXIT="5")
    init.signal(signo)
    assert init.wait() == 5
    assert received(record) == ["SIGTERM"]  # the app gets SIGTERM whatever stopped PID 1


def test_app_ignoring_sigterm_is_killed_at_its_deadline(external_env, tmp_path):
    init, record = recorder(external_env, tmp_path, IGNORE_TERM="1", MATHESAR_STOP_TIMEOUT="2")
    start = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait() == 137
    elapsed = time.monotonic() - start
    # Not before its deadline (1.4 s of the 2 s budget: PostgreSQL's share is
    # kept back); that it comes at the deadline is the machine's decision,
    # proved in SupervisorMachineTests without a clock.
    assert elapsed >= 1.4, elapsed
    assert "app did not stop within 1.4 s of SIGTERM; sending SIGKILL" in init.output, init.output


def test_crash_loop_exits_75(external_env):
    start = time.monotonic()
    status, init = run_app(external_env(), "sh", "-c", "exit 3", timeout=40)
    assert status == 75, init.output
    assert "crash loop: app exited 5 times within 60 s" in init.output
    # Four backoffs: 0.5 + 1 + 2 + 4 s before the fifth exit.
    assert time.monotonic() - start >= 7.5


def test_restart_backoff_doubles(external_env, tmp_path):
    starts = tmp_path / "starts"
    script = f"{PYTHON} -c 'import time; open(\"{starts}\", \"a\").write(repr(time.monotonic()) + \"\\n\")'; exit 1"
    status, init = run_app(external_env(), "sh", "-c", script, timeout=40)
    assert status == 75
    times = [float(t) for t in starts.read_text().split()]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) == 4, gaps
    # The decisions, in order, as PID 1 announced them; and no restart came
    # earlier than its backoff (a busy machine can only make one later).
    announced = [line.split("restarting in ")[1] for line in init.output.splitlines() if "restarting in " in line]
    assert announced == ["500 ms", "1 s", "2 s", "4 s"], announced
    for gap, expected in zip(gaps, [0.5, 1, 2, 4]):
        assert gap >= expected, gaps


def test_exit_zero_with_restart_always_restarts(external_env, tmp_path):
    starts = tmp_path / "starts"
    status, init = run_app(external_env(MATHESAR_RESTART="always"), "sh", "-c", f"echo x >> {starts}; exit 0", timeout=40)
    assert status == 75  # five clean exits in a minute are a crash loop too
    assert starts.read_text().count("x") == 5


def test_exit_zero_with_on_failure_ends_the_container(external_env):
    status, init = run_app(external_env(), "sh", "-c", "exit 0")
    assert status == 0
    assert "restarting" not in init.output


def test_stop_during_backoff_exits_at_once(external_env):
    init = Init(["run", "--", "sh", "-c", "exit 7"], external_env())
    init.wait_for("restarting in 2 s")  # third exit: the next start is 2 s away
    init.signal(signal.SIGTERM)
    assert init.wait() == 7  # the app's last status
    # Not restarted while stopping, and nothing left to wait for: that the stop
    # does not wait out the backoff is the machine's decision
    # (SupervisorMachineTests), observed here as no fourth start.
    assert init.output.count("app exited with status 7") == 3
    assert "app restarted (restart 3)" not in init.output


def test_sighup_flood_leaves_supervisor_responsive(external_env, tmp_path):
    init, record = recorder(external_env, tmp_path, TERM_EXIT="0", MATHESAR_STOP_TIMEOUT="5")
    for _ in range(1000):
        init.signal(signal.SIGHUP)
    # The flood is over once a later signal has come through: PID 1 reads its
    # signals in order and the kernel delivers SIGHUP before SIGUSR1, so no
    # SIGHUP is still on its way when the stop begins (one arriving while the
    # app's interpreter shuts down, its handlers reset, would kill it: 129).
    init.signal(signal.SIGUSR1)
    assert wait_until(lambda: "SIGUSR1" in received(record)), (received(record)[-5:], init.output)
    init.signal(signal.SIGTERM)
    # The app's own exit status on SIGTERM: PID 1 stopped it without reaching
    # its SIGKILL deadline, flood or not.
    assert init.wait() == 0
    assert "sending SIGKILL" not in init.output
    assert "SIGHUP" in received(record)
    assert received(record)[-1] == "SIGTERM"


def no_zombies(init):
    return [p for p in init.descendants() if p[1] == "Z"]


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_reaps_orphaned_grandchildren_as_pid1(external_env, volume):
    init = Init(["run", "--", str(APPS / "orphans.py"), "200"], external_env())
    init.wait_for("made 200 orphans")
    assert wait_until(lambda: not no_zombies(init) and len(init.descendants()) == 1), init.descendants()
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_reaps_orphans_as_subreaper_when_not_pid1(external_env, volume):
    init = Init(["run", "--", str(APPS / "orphans.py"), "200"], external_env(), namespace=False)
    init.wait_for("made 200 orphans")
    assert "child subreaper" in init.output
    assert wait_until(lambda: not no_zombies(init) and len(init.descendants()) == 1), init.descendants()
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def pid1_fds(init):
    return sorted(os.listdir(f"/proc/{init.pid1}/fd"), key=int)


def test_five_thousand_spawn_exit_cycles_leak_no_fds_or_zombies(external_env, volume):
    init = Init(["run", "--", str(APPS / "orphans.py"), "5000"], external_env())
    init.wait_for("made 5000 orphans", timeout=120)
    assert wait_until(lambda: not no_zombies(init) and len(init.descendants()) == 1, timeout=30), init.descendants()
    # stdio, the signalfd, the volume lock and the app's stdout and stderr pipes; nothing
    # left from the boot's helper processes or from reaping.
    assert len(pid1_fds(init)) == 7, pid1_fds(init)
    init.signal(signal.SIGTERM)
    assert init.wait() == 143


def test_restarts_leak_no_descriptors(external_env):
    init = Init(["run", "--", "sh", "-c", "sleep 0.2; exit 1"], external_env())
    init.wait_for("restarting in 500 ms")
    first = pid1_fds(init)
    init.wait_for("restarting in 2 s")
    assert pid1_fds(init) == first
    init.signal(signal.SIGTERM)
    assert init.wait() == 1


def test_idle_pid1_sleeps_without_wakeups(external_env):
    init = Init(["run", "--", "sleep", "60"], external_env())
    init.wait_for("app: started")
    time.sleep(0.3)
    before = int(init.proc_status("voluntary_ctxt_switches"))
    cpu_before = Path(f"/proc/{init.pid1}/stat").read_text().split()[13:15]
    time.sleep(3)
    after = int(init.proc_status("voluntary_ctxt_switches"))
    cpu_after = Path(f"/proc/{init.pid1}/stat").read_text().split()[13:15]
    init.signal(signal.SIGTERM)
    init.wait()
    assert after - before == 0
    assert cpu_after == cpu_before


def test_status_json_follows_the_app(external_env, volume, tmp_path):
    init, record = recorder(external_env, tmp_path)
    status = volume.status()
    assert status["phase"] == "running" and status["mode"] == "external"
    assert status["services"]["app"]["state"] == "running" and status["services"]["app"]["pid"] > 1
    assert status["services"]["postgres"]["state"] in ("not-started", "stopped")
    init.signal(signal.SIGTERM)
    init.wait()
    assert volume.status()["phase"] == "stopped"


def test_json_log_lines_are_one_object_each(external_env):
    status, init = run_app(external_env(MATHESAR_RESTART="never", MATHESAR_LOG_FORMAT="json"),
                           "sh", "-c", "echo out-line; echo err-line >&2")
    assert status == 0
    objects = [json.loads(line) for line in init.output.splitlines()]
    assert all(set(o) >= {"time", "source", "level", "message"} for o in objects)
    assert {"source": "app", "message": "out-line"}.items() <= next(o for o in objects if o["message"] == "out-line").items()
    assert any(o["source"] == "mathesar-init" and o["message"].startswith("app: started") for o in objects)


def test_output_without_newlines_and_floods_do_not_block_the_supervisor(external_env):
    # 20 MB on stdout with no newline at all, then a slow reader would block a naive init.
    script = f"{PYTHON} -c 'import sys,time; sys.stdout.write(\"x\" * 20_000_000); sys.stdout.flush(); time.sleep(60)'"
    init = Init(["run", "--", "sh", "-c", script], external_env(MATHESAR_STOP_TIMEOUT="3"))
    init.wait_for("app: started")
    init.wait_for("x{16384}", timeout=30)  # long lines are cut into pieces, not held
    init.signal(signal.SIGTERM)
    assert init.wait() == 143  # SIGTERM ended it: the flood did not hold the stop up to the SIGKILL deadline
    assert "sending SIGKILL" not in init.output
    longest = max(len(line) for line in init.stream("out"))
    assert longest < 17000


def test_pid1_never_loads_a_shared_library_or_nss(external_env, tmp_path):
    """The static PID 1 must not reach dlopen at run time (NSS, iconv, the Swift
    runtime's optional libraries): a shared object of the image's glibc loaded
    into a binary linked against another glibc can crash it. Users are looked
    up by reading /etc/passwd and /etc/group. Checked with strace on a boot that
    drops privileges for the app, in PID 1 and in its re-exec trampolines up to
    the program they exec."""
    trace = tmp_path / "trace"
    env = external_env(MATHESAR_APP_USER="nobody", MATHESAR_RESTART="never")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,execve", "-o", str(trace),
                        "unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(INIT), "run", "--", "/bin/true"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    ours, current, loaded = set(), {}, []
    for line in trace.read_text().splitlines():
        m = re.match(r'(\d+)\s+execve\("([^"]+)"', line)
        if m and "= 0" in line or (m and "<unfinished" in line):
            current[m.group(1)] = m.group(2)
            if m.group(2).endswith("/mathesar-init"):
                ours.add(m.group(1))
            continue
        m = re.match(r'(\d+)\s+openat\([^,]+, "([^"]+)"', line)
        if m and current.get(m.group(1), "").endswith("/mathesar-init"):
            if re.search(r"\.so(\.|$)|nsswitch\.conf|gconv", m.group(2)):
                loaded.append(line)
    assert len(ours) >= 2, "no trampoline was traced:\n" + trace.read_text()[:2000]
    assert not loaded, "\n".join(loaded)
