"""Scripted expert for push: slide an object over the table onto a target without picking it up.

The closed fingers come down behind the object (on the side away from the target), low over the table, and
move in a straight line until the object's centre is over the target's. A plate is pushed rather than lifted
by its 2 cm rim ("push the plate to the front of the stove"); anything that slides can be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import ObjectToken, Proprio, Scene
from hvla.skills.scripted.experts import CLOSED_M, SAFE_Z_M, SLOW_MPS, Phase, Target, TargetFn, _hold, _token
from hvla.skills.scripted.motion import wrap_grasp_yaw

PUSH_MPS = 0.08


@dataclass(frozen=True)
class PushConfig:
    finger_half_m: float = 0.01  # the closed fingers' half thickness along the push
    start_gap_m: float = 0.01  # the fingers come down this far behind the object (little room: a cabinet behind)
    height_m: float = 0.008  # the TCP this far above the object's bottom: low on its side, clear of the table


PUSH = PushConfig()


def _direction(obj: ObjectToken, target: ObjectToken) -> NDArray[np.float64]:
    d = np.asarray(target.position_m[:2] - obj.position_m[:2], dtype=np.float64)
    n = float(np.linalg.norm(d))
    return d / n if n > 1e-6 else np.array([1.0, 0.0])


def _reach(obj: ObjectToken, d: NDArray[np.float64]) -> float:
    """How far the object reaches from its centre along the horizontal direction d: to the ellipse inside its
    box (a plate is round: its box's corner, along a diagonal, is 2 cm further out than its rim)."""
    return 0.5 * float(np.linalg.norm(np.abs(obj.extent_m[:2]) * d))


def push_phases(obj: str, target: str, config: PushConfig = PUSH) -> list[Phase]:
    def pose(where) -> TargetFn:
        def fn(scene: Scene, proprio: Proprio) -> Target:
            tok, dest = _token(scene, obj), _token(scene, target)
            d = _direction(tok, dest)
            xy, z = where(tok, dest, d)
            # The hand's x along the push: its narrow side (3 cm each way, 10 cm along its y) leads and trails.
            return np.array([xy[0], xy[1], z]), wrap_grasp_yaw(float(np.arctan2(d[1], d[0])))
        return fn

    def low(tok: ObjectToken) -> float:
        return float(tok.position_m[2] - 0.5 * tok.extent_m[2]) + config.height_m

    def behind(tok: ObjectToken, dest: ObjectToken, d: NDArray[np.float64]) -> NDArray[np.float64]:
        return tok.position_m[:2] - d * (_reach(tok, d) + config.finger_half_m + config.start_gap_m)

    def done(tok: ObjectToken, dest: ObjectToken, d: NDArray[np.float64]) -> NDArray[np.float64]:
        return dest.position_m[:2] - d * (_reach(tok, d) + config.finger_half_m)

    return [
        Phase("rise", _hold(SAFE_Z_M), CLOSED_M, freeze=True),
        Phase("above", pose(lambda t, g, d: (behind(t, g, d), max(SAFE_Z_M, low(t) + 0.1))), CLOSED_M,
              tol_m=0.015, freeze=True),
        Phase("descend", pose(lambda t, g, d: (behind(t, g, d), low(t))), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.008,
              freeze=True),
        Phase("push", pose(lambda t, g, d: (done(t, g, d), low(t))), CLOSED_M, PUSH_MPS, tol_m=0.012, freeze=True),
        Phase("retreat", _hold(SAFE_Z_M), CLOSED_M, tol_m=0.02, freeze=True),
    ]
