"""The controller interface: execute an ActionChunk on a Robot, or hold still.

A controller owns the path from end-effector waypoints to joint commands (IK, trajectory
generation, safety). Orchestration sees only this Protocol, so an oracle or a learned
low-level controller can replace the classical one without touching the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hvla.controllers.safety import SafetyEvent
from hvla.core.messages import ActionChunk
from hvla.core.robot import Robot


@dataclass(frozen=True)
class FollowResult:
    """What one `follow` (or `hold`) call did. Errors are of the final TCP against the last reachable target."""

    steps: int  # control periods commanded
    reached: bool  # every reachable waypoint issued and the final TCP within tolerance of the last
    unreachable: tuple[int, ...] = ()  # chunk indices skipped (IK failed, outside workspace, joint jump)
    skip_reasons: tuple[str, ...] = ()  # one line per skipped index, same order
    events: tuple[SafetyEvent, ...] = ()  # safety events raised during the call
    refusals: int = 0  # commands the safety layer replaced by a hold
    final_error_m: float = 0.0
    final_error_rad: float = 0.0
    estopped: bool = False  # the e-stop was engaged: the robot is holding, the chunk was abandoned

    @property
    def ok(self) -> bool:
        """Reached, nothing refused, nothing skipped, no e-stop."""
        return self.reached and not self.refusals and not self.unreachable and not self.estopped


class Controller(Protocol):
    """Turns end-effector chunks into joint commands streamed to a robot at its control rate."""

    def follow(self, chunk: ActionChunk, robot: Robot, duration_s: float | None = None) -> FollowResult:
        """Execute `chunk` for at most `duration_s` (None: until its last waypoint is reached).

        Stopping early (receding horizon) leaves the arm moving toward the next waypoint; the
        next `follow` continues smoothly from there, and `hold` brings it to rest.

        Raises:
            UnreachableError: no waypoint of the chunk can be reached.
        """
        ...

    def hold(self, robot: Robot, duration_s: float) -> FollowResult:
        """Brake to rest (jerk-limited) and keep the position for `duration_s`."""
        ...

    def estop(self, reason: str = "software e-stop") -> None:
        """From the next command, brake to rest within the limits and hold there until `reset_estop`."""
        ...

    def reset_estop(self) -> None:
        """The operator's explicit reset of a latched e-stop."""
        ...

    @property
    def estopped(self) -> bool:
        """The e-stop is latched: nothing moves until `reset_estop`."""
        ...

    @property
    def estop_reason(self) -> str:
        """What engaged the e-stop ('' when it is not engaged)."""
        ...
