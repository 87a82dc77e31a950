"""Which of a parallel gripper's two equivalent yaws a top-down hand turns to: the one its last joint can hold.

A top-down grasp is the same turned half way round, so a yaw target names two hand orientations. The nearer
one costs the least wrist rotation, but the Panda's last joint spans only +-2.9 rad: a bowl held by its rim
keeps its yaw while it is carried, and as the arm swings round its base toward the destination the last joint
turns with it (libero_goal "put the bowl on the stove": grasped at q7 = 2.2, carried 30 degrees round to the
stove, the joint reached its limit and the arm could not lower the bowl for the rest of the episode).

For a top-down hand, q7 + yaw - azimuth stays all but constant (azimuth: the TCP's bearing around the base's
vertical axis, which joints 1 and 3 turn), so the last joint's angle at a target follows from its angle now.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hvla.core import panda

WRIST = 6  # the last arm joint: it turns the hand about its approach axis
# Room the last joint keeps from its commanded limit at the grasp, for what the carry swings it by afterwards
# (a destination 30-40 degrees round the base from the object) and for the IK's posture drift.
WRIST_HEADROOM_RAD = 0.9


def wrist_at(q7_now_rad: float, yaw_now_rad: float, xy_now_m: NDArray[np.float64], yaw_goal_rad: float,
             xy_goal_m: NDArray[np.float64]) -> float:
    """The last joint's angle [rad] with the top-down hand turned to `yaw_goal_rad` over `xy_goal_m` (base frame)."""
    return q7_now_rad - (yaw_goal_rad - yaw_now_rad) + (_bearing(xy_goal_m) - _bearing(xy_now_m))


def wrist_safe_turn(q7_now_rad: float, yaw_now_rad: float, xy_now_m: NDArray[np.float64], yaw_goal_rad: float,
                    xy_goal_m: NDArray[np.float64], headroom_rad: float = WRIST_HEADROOM_RAD) -> float:
    """The turn [rad] from the hand's yaw to `yaw_goal_rad` (modulo a half turn), in [-pi, pi]: the nearer of
    the two while it leaves the last joint `headroom_rad` inside its commanded limits, else the one that leaves
    more (the long way round, which the hand turns along: a chunk interpolates the shortest way to its yaw)."""
    near = float((yaw_goal_rad - yaw_now_rad + np.pi / 2) % np.pi - np.pi / 2)
    far = near - np.pi if near > 0 else near + np.pi
    hi = float(panda.Q_MAX_RAD[WRIST]) - panda.COMMAND_MARGIN_RAD
    lo = float(panda.Q_MIN_RAD[WRIST]) + panda.COMMAND_MARGIN_RAD

    def room(turn: float) -> float:
        q7 = wrist_at(q7_now_rad, yaw_now_rad, xy_now_m, yaw_now_rad + turn, xy_goal_m)
        return min(hi - q7, q7 - lo)

    if room(near) >= headroom_rad or room(near) >= room(far):
        return near
    return far


def _bearing(xy_m: NDArray[np.float64]) -> float:
    return float(np.arctan2(xy_m[1], xy_m[0]))
