#!/usr/bin/env python3
"""Fault-suite app for the signal storm: records every forwarded signal it
handles ("NAME monotonic-time" a line, in $RECORD, flushed every 50 ms) while
it keeps spawning and reaping short-lived children, and making orphans that
PID 1 must reap. On SIGTERM it writes what is left, prints its counts, exits 0.

Its children start with the forwarded signals blocked (the mask survives
exec), so that a forwarded SIGTTIN cannot stop them; the app itself unblocks
them right after each spawn and handles what was pending."""
import os
import signal
import subprocess
import sys
import time

FORWARDED = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU]
seen = []
stop = False


def handler(signo, frame):
    seen.append((signo, time.monotonic()))


def on_term(signo, frame):
    global stop
    stop = True


for s in FORWARDED:
    signal.signal(s, handler)
signal.signal(signal.SIGTERM, on_term)
record = open(os.environ["RECORD"], "a")
written = 0
children = orphans = 0
last_flush = time.monotonic()
print("storm app ready", flush=True)


def flush():
    global written
    batch = seen[written:]
    written += len(batch)
    record.write("".join(f"{signal.Signals(s).name} {t:.6f}\n" for s, t in batch))
    record.flush()


while not stop:
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        if children % 10 == 9:
            pid = os.fork()
            if pid == 0:
                if os.fork() == 0:
                    time.sleep(0.02)  # outlives its parent: re-parented to PID 1
                os._exit(0)
            os.waitpid(pid, 0)
            orphans += 1
        child = subprocess.Popen(["true"])
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    child.wait()
    children += 1
    if time.monotonic() - last_flush > 0.05:
        flush()
        last_flush = time.monotonic()
# Stopping: what is still forwarded must not kill us half-way through the exit.
for s in FORWARDED:
    signal.signal(s, signal.SIG_IGN)
flush()
print(f"storm app: {len(seen)} signals handled, {children} children reaped, {orphans} orphans made", flush=True)
sys.exit(0)
