#!/usr/bin/env python3
"""First run (STATE does not exist): starts a grandchild (`sleep`), which stays
in this process's group, records its pid in STATE and exits with FIRST_EXIT. A later run:
prints whether that grandchild is gone, waiting up to 5 s for it to die."""
import os
import subprocess
import sys
import time

state, first_exit = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
if not os.path.exists(state):
    child = subprocess.Popen(["sleep", "1000"])
    with open(state, "w") as f:
        f.write(str(child.pid))
    sys.exit(first_exit)

pid = int(open(state).read())


def gone():
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0] in "ZX"
    except FileNotFoundError:
        return True


deadline = time.monotonic() + 5
while not gone() and time.monotonic() < deadline:
    time.sleep(0.01)
print("grandchild gone" if gone() else "grandchild alive", flush=True)
