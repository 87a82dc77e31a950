"""The operator's two controls over the console's episodes: the e-stop latch and step approval.

The latch works as on a real cell: after an e-stop nothing starts until the operator resets it on
purpose; a stopped episode is not followed by the next one because someone clicked "run" again.
Step approval is the chapter's human oversight: the executor asks before each subgoal starts, the
worker thread waits here, and the operator's click (or an e-stop) answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hvla.core.messages import Subgoal
from hvla.orchestration.console_guard import ConflictError

APPROVAL_TIMEOUT_S = 600.0  # an unattended request is declined: a forgotten run must not hold the console


class EstopLatch:
    """Engaged by any e-stop press; released only by `release` (the operator's reset). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason = ""
        self._since: float | None = None  # time.time() of the first press since the last reset

    @property
    def engaged(self) -> bool:
        return self._since is not None

    def engage(self, reason: str) -> None:
        with self._lock:
            if self._since is None:
                self._reason, self._since = reason, time.time()

    def release(self) -> None:
        with self._lock:
            self._reason, self._since = "", None

    def check_clear(self) -> None:
        """Raises ConflictError while engaged: nothing may start."""
        if self.engaged:
            raise ConflictError(f"e-stop latched: reset it first ({self._reason})")

    def to_json(self) -> dict[str, Any]:
        return {"latched": self.engaged, "reason": self._reason, "since_wall_s": self._since}


class ApprovalGate:
    """The executor's `approve` hook in step-approval mode: blocks the worker until the operator decides.

    `stopped()` is polled while waiting, so an e-stop (or a cancelled run) answers "no" at once."""

    def __init__(self, stopped: Callable[[], bool], timeout_s: float = APPROVAL_TIMEOUT_S) -> None:
        self._stopped = stopped
        self._timeout_s = timeout_s
        self._cond = threading.Condition()
        self._pending: Subgoal | None = None
        self._since = 0.0
        self._decision: bool | None = None

    def __call__(self, subgoal: Subgoal) -> bool:
        deadline = time.monotonic() + self._timeout_s
        with self._cond:
            self._pending, self._decision, self._since = subgoal, None, time.time()
            try:
                while self._decision is None and not self._stopped():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(min(remaining, 0.1))
                return bool(self._decision) and not self._stopped()
            finally:
                self._pending = None

    def decide(self, subgoal_id: str, approve: bool) -> None:
        """The operator's answer for `subgoal_id`. Raises ConflictError when that subgoal is not the one waiting."""
        with self._cond:
            if self._pending is None:
                raise ConflictError("no subgoal is waiting for approval")
            if self._pending.id != subgoal_id:
                raise ConflictError(f"subgoal {self._pending.id} is waiting for approval, not {subgoal_id}")
            self._decision = approve
            self._cond.notify_all()

    def wake(self) -> None:
        """Re-check `stopped()` now (called on an e-stop) instead of at the next poll."""
        with self._cond:
            self._cond.notify_all()

    def pending(self) -> dict[str, Any] | None:
        sg = self._pending
        if sg is None:
            return None
        return {"subgoal_id": sg.id, "skill": sg.skill, "args": dict(sg.args), "describe": sg.describe(),
                "since_wall_s": self._since}
