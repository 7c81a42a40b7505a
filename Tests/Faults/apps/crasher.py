#!/usr/bin/env python3
"""Fault-suite app: appends "start <pid> <monotonic>" to $STARTS, then, on odd
starts, crashes itself with a real segmentation fault (a NULL read) after
CRASH_AFTER seconds; on even starts it sleeps until killed."""
import ctypes
import os
import time

with open(os.environ["STARTS"], "a") as f:
    f.write(f"start {os.getpid()} {time.monotonic()}\n")
starts = sum(1 for _ in open(os.environ["STARTS"]))
print(f"crasher start {starts}", flush=True)
if starts % 2 == 1 and os.environ.get("SELF_SEGV"):
    time.sleep(float(os.environ.get("CRASH_AFTER", "0.2")))
    ctypes.string_at(0)  # SIGSEGV
time.sleep(3600)
