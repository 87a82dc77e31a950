"""Waypoint geometry shared by the scripted experts: top-down grasp poses and straight-line chunks."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

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


def down_matrix(yaw_rad: float) -> NDArray[np.float64]:
    """Rotation of a top-down hand rotated by `yaw_rad` about world z."""
    return about_z(yaw_rad) @ _DOWN


def facing_matrix(approach: NDArray[np.float64], fingers: NDArray[np.float64]) -> NDArray[np.float64]:
    """A hand whose approach axis (its z, from the palm to the fingertips) points along `approach` and whose
    fingers close along `fingers` (its y; made orthogonal to the approach): a hand pointing into a drawer's
    face with its fingers closing up and down, around the handle bar."""
    z = approach / np.linalg.norm(approach)
    y = fingers - np.dot(fingers, z) * z
    y /= np.linalg.norm(y)
    return np.column_stack([np.cross(y, z), y, z])


def pose_chunk(
    start_T: NDArray[np.float64],
    goal_xyz: NDArray[np.float64],
    goal_R: NDArray[np.float64],
    gripper_m: float,
    speed_mps: float,
    k: int = 10,
    dt_s: float = 0.1,
    rate_radps: float = 1.5,
) -> ActionChunk:
    """Like `straight_chunk` for any hand orientation: position along a straight line at `speed_mps`, the
    orientation turned toward `goal_R` along the shortest arc at `rate_radps` (a hand tilting from top-down to
    pointing into a drawer turns while it moves), both stopping at the goal."""
    start_xyz, start_R = start_T[:3, 3], start_T[:3, :3]
    delta = goal_xyz - start_xyz
    dist = float(np.linalg.norm(delta))
    steps = np.arange(1, k + 1) * dt_s
    frac = np.minimum(1.0, steps * speed_mps / dist) if dist > 1e-9 else np.ones(k)
    rots = Rotation.from_matrix(np.stack([start_R, goal_R]))
    angle = float((rots[0].inv() * rots[1]).magnitude())
    rot_frac = np.minimum(1.0, steps * rate_radps / angle) if angle > 1e-9 else np.ones(k)
    quats_xyzw = Slerp([0.0, 1.0], rots)(rot_frac).as_quat()
    quats = np.roll(quats_xyzw, 1, axis=1)  # wxyz
    positions = start_xyz + frac[:, None] * delta
    return ActionChunk(np.hstack([positions, quats]), np.full(k, gripper_m), 1.0, dt_s)


def tilted(R: NDArray[np.float64], toward_xy: NDArray[np.float64], tilt_rad: float) -> NDArray[np.float64]:
    """`R` leaned by `tilt_rad` about its own finger axis (the fingers stay level), the approach axis tipping
    toward the horizontal direction `toward_xy`: a top-down hand over a point close to the base leans its
    wrist outward (toward_xy pointing to the base), which keeps the elbow from folding to its limit."""
    fingers = R[:, 1]
    for sign in (1.0, -1.0):
        leaned = Rotation.from_rotvec(fingers * sign * tilt_rad).as_matrix() @ R
        if float(leaned[:2, 2] @ np.asarray(toward_xy)) >= 0.0:
            return leaned
    return R


def about_z(angle_rad: float) -> NDArray[np.float64]:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
