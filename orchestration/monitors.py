"""Runtime monitors: they watch each 10 Hz step and name what went wrong before a timeout would.

A monitor returns an alert string (the failure reason) or None. The executor aborts the subgoal
attempt on the first alert, then retries or re-plans; a monitor whose `aborts` is False only warns
(the executor logs a `monitor_warning` event and the attempt goes on).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from hvla.controllers.base import FollowResult
from hvla.core.messages import NO_USABLE_CAMERA, Proprio, Scene, Subgoal


@dataclass(frozen=True)
class StepInfo:
    """What happened in one sense-act step."""

    t_s: float
    subgoal: Subgoal
    scene: Scene
    proprio: Proprio
    follow: FollowResult
    confidence: float = 1.0
    anomaly: float | None = None  # the policy's anomaly score (> 1: unlike its training data); None: not scored


class Monitor(Protocol):
    def reset(self, subgoal: Subgoal) -> None: ...

    def check(self, step: StepInfo) -> str | None: ...


@dataclass
class StallMonitor:
    """No end-effector or gripper motion for `window_s` while the subgoal is not done."""

    window_s: float = 4.0
    min_motion_m: float = 0.004
    _history: deque = field(default_factory=deque)

    def reset(self, subgoal: Subgoal) -> None:
        self._history.clear()

    def check(self, step: StepInfo) -> str | None:
        state = np.r_[step.proprio.ee_position_m, step.proprio.gripper_m]
        self._history.append((step.t_s, state))
        while self._history and step.t_s - self._history[0][0] > self.window_s:
            self._history.popleft()
        t_first, first = self._history[0]
        if step.t_s - t_first < self.window_s * 0.95:
            return None
        motion = max(np.linalg.norm(s - first) for _, s in self._history)
        if motion < self.min_motion_m:
            return f"stalled: the hand moved {motion * 1e3:.1f} mm in {self.window_s:.0f} s"
        return None


@dataclass
class SafetyRefusalMonitor:
    """Too many commands refused by the safety layer within one subgoal attempt."""

    max_refusals: int = 100
    _count: int = 0

    def reset(self, subgoal: Subgoal) -> None:
        self._count = 0

    def check(self, step: StepInfo) -> str | None:
        self._count += step.follow.refusals
        if step.follow.estopped:
            return "e-stop engaged"
        if self._count > self.max_refusals:
            kinds = sorted({e.kind for e in step.follow.events}) or ["unknown"]
            return f"safety layer refused {self._count} commands ({', '.join(kinds)})"
        return None


@dataclass
class LostObjectMonitor:
    """An object the subgoal names has been missing from the scene for `max_missing_s`."""

    max_missing_s: float = 1.5
    _missing_since: dict[str, float] = field(default_factory=dict)

    def reset(self, subgoal: Subgoal) -> None:
        self._missing_since.clear()

    def check(self, step: StepInfo) -> str | None:
        for role, name in step.subgoal.args.items():
            if step.scene.find(name) is not None or name == "sink":
                self._missing_since.pop(name, None)
                continue
            since = self._missing_since.setdefault(name, step.t_s)
            if step.t_s - since >= self.max_missing_s:
                return f"lost object: {role} '{name}' not seen for {step.t_s - since:.1f} s"
        return None


@dataclass
class AnomalyMonitor:
    """The policy has met situations unlike its training data (anomaly score > 1) for `steps` steps in a row.

    The chapter's anomaly detection: by default a warning for the operator, not a failure. An unusual
    scene is often still one the policy handles (a moved object it re-grasps), so aborting on it would
    trade successes for caution; `aborts=True` makes it a failure for cautious deployments.
    """

    steps: int = 3
    aborts: bool = False
    _run: int = 0

    def reset(self, subgoal: Subgoal) -> None:
        self._run = 0

    def check(self, step: StepInfo) -> str | None:
        if step.anomaly is None or step.anomaly <= 1.0:
            self._run = 0
            return None
        self._run += 1
        if self._run == self.steps:  # once per stretch of unusual steps
            return (f"out of distribution: the policy's anomaly score has been over its normal limit for "
                    f"{self.steps} steps ({step.anomaly:.1f}x)")
        return None


@dataclass
class BlindMonitor:
    """No camera the perception reads has been usable (missing, blank, no depth, stale, frozen) for
    `max_blind_s`: the skill cannot go on seeing, so the arm is held and the attempt fails with the reason.
    While one camera still works the attempt goes on with it (the perception drops the bad one)."""

    max_blind_s: float = 0.3
    _since: float | None = None

    def reset(self, subgoal: Subgoal) -> None:
        self._since = None

    def check(self, step: StepInfo) -> str | None:
        if NO_USABLE_CAMERA not in step.scene.flags:
            self._since = None
            return None
        self._since = step.t_s if self._since is None else self._since
        if step.t_s - self._since + 1e-9 >= self.max_blind_s:
            why = ", ".join(f for f in step.scene.flags if f != NO_USABLE_CAMERA)
            return f"sensor fault: no usable camera for {step.t_s - self._since:.1f} s ({why})"
        return None


def default_monitors() -> list[Monitor]:
    return [StallMonitor(), SafetyRefusalMonitor(), LostObjectMonitor(), AnomalyMonitor(), BlindMonitor()]
