#!/usr/bin/env python3
"""Test app: prints what it inherited: signal mask and ignored signals, open
descriptors, ids, session, environment bits. Sleeps argv[1] seconds after."""
import os
import sys
import time

status = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    status[key] = value.strip()


def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


# The directory listing's own descriptor is closed again by the time of the check.
fds = sorted(fd for fd in map(int, os.listdir("/proc/self/fd")) if is_open(fd))
print(f"SigBlk={status['SigBlk']} SigIgn={status['SigIgn']}")
print(f"fds={','.join(map(str, fds))}")
print(f"uid={os.getuid()} gid={os.getgid()} groups={','.join(map(str, sorted(os.getgroups())))}")
print(f"pid={os.getpid()} pgid={os.getpgid(0)} sid={os.getsid(0)}")
print(f"home={os.environ.get('HOME')} user={os.environ.get('USER')}")
print(f"argv={sys.argv!r}", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)
