"""Whether a process still runs, and its children: for cleaning up after runs killed with
SIGKILL, and for checking that none of vex's own processes outlives one."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host (even if it is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(int(stat.parent.name))
        if fields and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def has_exited(pid: int) -> bool:
    """No such process, or only its zombie (it exited; nobody has reaped it yet)."""
    fields = _stat_fields(pid)
    return fields is None or fields[0] == "Z"
