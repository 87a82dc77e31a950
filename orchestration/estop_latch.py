"""The cell's e-stop latch, shared by every process that moves the arm (a file, as a real cell's relay is one).

A stop pressed anywhere (Ctrl-C on `hvla run`, `hvla estop` from another terminal, a stop the safety layer
engaged itself) stays engaged until the operator resets it with `hvla estop --reset`: a run started
meanwhile is refused before anything moves, and a run in progress brakes to rest at its next tick.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hvla.core.errors import EStopLatchedError
from hvla.core.files import atomic_write_bytes

DEFAULT_PATH = Path(os.environ.get("HVLA_ESTOP_LATCH", "runs/ESTOP"))


@dataclass(frozen=True)
class EStopLatch:
    path: Path = DEFAULT_PATH

    def engage(self, reason: str, by: str = "operator") -> None:
        """Latch the stop (keeps the first reason when it is already engaged)."""
        if self.reason() is None:
            record = {"reason": reason, "by": by, "pid": os.getpid(), "t_unix_s": time.time()}
            atomic_write_bytes(self.path, json.dumps(record).encode())

    def reason(self) -> str | None:
        """Why the stop is latched, or None when it is not."""
        try:
            record = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return f"latch file {self.path} unreadable (treated as engaged)"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.get("t_unix_s", 0)))
        return f"{record.get('reason', 'e-stop')} (by {record.get('by', '?')}, {when})"

    def reset(self) -> bool:
        """Release the latch; True if it was engaged."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def require_released(self) -> None:
        """Raises EStopLatchedError, naming the reset command, while the stop is latched."""
        reason = self.reason()
        if reason is not None:
            raise EStopLatchedError(f"e-stop latched: {reason}; reset it with `hvla estop --reset` once the "
                                    "cell is safe")
