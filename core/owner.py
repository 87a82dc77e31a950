"""Which process wrote a file that may have been left behind, and whether that process still lives.

A log or a dataset whose writer was killed (SIGKILL, OOM killer, power cut) cannot say so itself: its
last word is "running". The writer therefore records its pid, host and process start time; a reader
asks whether that process is still there. The start time guards against a recycled pid, and a zombie
(killed, not yet reaped by its parent) counts as dead: it will never write again.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from /proc, or None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Owner:
    """The process that writes something: pid, host name and start time (None where /proc is missing)."""

    pid: int
    host: str
    start_ticks: int | None = None

    @classmethod
    def current(cls) -> Owner:
        stat = _proc_stat(os.getpid())
        return cls(os.getpid(), socket.gethostname(), stat[1] if stat else None)

    def alive(self) -> bool | None:
        """True while the process runs, False once it is gone; None when it ran on another host (unknowable)."""
        if self.host != socket.gethostname():
            return None
        stat = _proc_stat(self.pid)
        if stat is not None:
            state, start = stat
            return state not in ("Z", "X") and (self.start_ticks is None or start == self.start_ticks)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process: it exists
        return True

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "start_ticks": self.start_ticks}

    @classmethod
    def from_json(cls, data: Any) -> Owner | None:
        """The owner recorded in `data`, or None when `data` does not hold one (older files)."""
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or not isinstance(data.get("host"), str):
            return None
        start = data.get("start_ticks")
        return cls(data["pid"], data["host"], start if isinstance(start, int) else None)
