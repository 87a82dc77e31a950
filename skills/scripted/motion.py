"""Waypoint geometry shared by the scripted experts: top-down grasp poses and straight-line chunks."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import ActionChunk

# Hand pointing down (TCP z = world -z), hand x along world x at yaw 0.
_DOWN = np.diag([1.0, -1.0, -1.0])


def wrap_grasp_yaw(yaw_rad: float) -> float:
    """A parallel grasp is symmetric under a half turn: use the equivalent yaw in [-pi/2, pi/2]."""
    return float((yaw_rad + np.pi / 2) % np.pi - np.pi / 2)


def down_quat_wxyz(yaw_rad: float) -> NDArray[np.float64]:
    """Quaternion of a top-down hand rotated by `yaw_rad` about world z."""
    # R = Rz(yaw) @ diag(1, -1, -1) is a half turn about the axis (cos(yaw/2), sin(yaw/2), 0).
    half = 0.5 * yaw_rad
    return np.array([0.0, np.cos(half), np.sin(half), 0.0])


def hand_yaw(T_world_ee: NDArray[np.float64]) -> float:
    """Yaw of the hand's x axis in the world xy plane."""
    return float(np.arctan2(T_world_ee[1, 0], T_world_ee[0, 0]))


def straight_chunk(
    start_xyz: NDArray[np.float64],
    start_yaw: float,
    goal_xyz: NDArray[np.float64],
    goal_yaw: float,
    gripper_m: float,
    speed_mps: float,
    k: int = 10,
    dt_s: float = 0.1,
    yaw_rate_radps: float = 1.5,
) -> ActionChunk:
    """K waypoints from start toward goal at `speed_mps`, stopping at the goal."""
    delta = goal_xyz - start_xyz
    dist = float(np.linalg.norm(delta))
    dyaw = float(np.arctan2(np.sin(goal_yaw - start_yaw), np.cos(goal_yaw - start_yaw)))
    steps = np.arange(1, k + 1) * dt_s
    frac = np.minimum(1.0, steps * speed_mps / dist) if dist > 1e-9 else np.ones(k)
    yaw_frac = np.minimum(1.0, steps * yaw_rate_radps / abs(dyaw)) if abs(dyaw) > 1e-9 else np.ones(k)
    positions = start_xyz + frac[:, None] * delta
    yaws = start_yaw + yaw_frac * dyaw
    quats = np.array([down_quat_wxyz(y) for y in yaws])
    return ActionChunk(np.hstack([positions, quats]), np.full(k, gripper_m), 1.0, dt_s)
