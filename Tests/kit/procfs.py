"""What the kernel says about processes, read from /proc (host pids)."""
import os
from pathlib import Path


def stat(pid):
    """Fields of /proc/PID/stat: comm, state, ppid, utime and stime (clock ticks)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15
    return {"comm": text[text.index("(") + 1:text.rindex(")")], "state": rest[0], "ppid": int(rest[1]),
            "utime": int(rest[11]), "stime": int(rest[12])}


def status(pid):
    """/proc/PID/status as {field: value}."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def parent_pid(pid):
    """The parent of pid, or None when it is gone."""
    try:
        return stat(pid)["ppid"]
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid):
    """The children of pid's main thread, or [] when it is gone."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def namespace_pid(pid):
    """The pid of host process pid inside its own PID namespace, or None when it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def descendants(root):
    """Every process below root as [(pid, ppid, state, comm)], parents before children."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                table[int(name)] = stat(name)
            except (OSError, ValueError, IndexError):
                continue  # gone while the table was read
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop(0)
        for pid, st in table.items():
            if st["ppid"] == parent:
                found.append((pid, parent, st["state"], st["comm"]))
                frontier.append(pid)
    return found
