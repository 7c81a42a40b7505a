#!/usr/bin/env python3
"""Test app: makes N orphaned grandchildren (their parent exits at once), which
the kernel re-parents to PID 1 (or the subreaper); they exit shortly after,
so PID 1 must reap them. Then it stays up until stopped.
"""
import os
import sys
import time

count = int(sys.argv[1])
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            time.sleep(0.2)   # outlive the parent: become an orphan, then exit
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
print(f"made {count} orphans", flush=True)
time.sleep(3600)
