#!/usr/bin/env python3
"""Waits until the wall-clock instant argv[1] (seconds since the epoch), prints
when it let go, then execs argv[2:] in place (so that, as PID 1 of a new
namespace, the program it execs becomes PID 1)."""
import os
import sys
import time

target = float(sys.argv[1])
while True:
    left = target - time.time()
    if left <= 0:
        break
    if left > 0.003:
        time.sleep(left - 0.002)  # sleep most of the way, spin the last 2 ms
os.write(2, f"exec at {time.time():.6f}\n".encode())
os.execv(sys.argv[2], sys.argv[2:])
