#!/usr/bin/env python3
"""Test app: records every signal it receives, one line each, in $RECORD.

Env: RECORD (file), IGNORE_TERM=1 (SIGTERM ignored), TERM_EXIT=N (exit N on SIGTERM),
CHILDREN=1 (keep spawning and reaping short-lived children).
"""
import os
import signal
import subprocess
import sys
import time

# A raw descriptor, not a buffered file: under a flood a handler runs inside
# another handler, and a nested write to a buffered file raises "reentrant
# call", which would crash the app the test means to keep alive.
record = os.open(os.environ["RECORD"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
names = {s: s.name for s in signal.Signals}


def handler(signo, frame):
    os.write(record, (names[signo] + "\n").encode())
    if signo == signal.SIGTERM and "TERM_EXIT" in os.environ:
        sys.exit(int(os.environ["TERM_EXIT"]))


for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU,
          signal.SIGINT, signal.SIGQUIT):
    signal.signal(s, handler)
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif "TERM_EXIT" in os.environ:
    signal.signal(signal.SIGTERM, handler)

os.write(record, b"READY\n")
print("recorder ready", flush=True)
while True:
    if os.environ.get("CHILDREN"):
        subprocess.run(["true"])
        time.sleep(0.001)
    else:
        signal.pause()
