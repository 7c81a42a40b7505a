"""Waiting for an observable event (never for a length of time)."""
import time


def wait_until(predicate, timeout=30, interval=0.01):
    """predicate()'s first true value, polled every `interval` s; after
    `timeout` s its last value (false) instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
