"""Pose and quaternion helpers. Quaternions are (w, x, y, z); poses are 4x4 homogeneous matrices.

One place converts between the (7,) position + quaternion form that messages carry and the 4x4
form the kinematics use, and validates both, so a NaN or a non-unit quaternion never reaches IK.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from hvla.core.errors import MessageError

FloatArray = NDArray[np.float64]

QUAT_NORM_TOL = 1e-3  # the tolerance ActionChunk accepts; we renormalise within it
ROTATION_TOL = 1e-6  # |R^T R - I| allowed in a 4x4 pose


def _finite(name: str, value: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise MessageError(f"{name} has shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise MessageError(f"{name} holds NaN or inf: {arr.tolist()}")
    return arr


def normalize_quat_wxyz(quat_wxyz: ArrayLike) -> FloatArray:
    """Unit quaternion (w, x, y, z) with w >= 0, from one that is unit length within 1e-3."""
    q = _finite("quaternion", quat_wxyz, (4,))
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > QUAT_NORM_TOL:
        raise MessageError(f"quaternion {q.tolist()} is not unit length (norm {norm:.4f})")
    q = q / norm
    return -q if q[0] < 0 else q  # q and -q are the same rotation; a canonical sign eases comparison


def quat_wxyz_to_matrix(quat_wxyz: ArrayLike) -> FloatArray:
    """(3, 3) rotation matrix of a unit quaternion (w, x, y, z)."""
    return Rotation.from_quat(normalize_quat_wxyz(quat_wxyz), scalar_first=True).as_matrix()


def matrix_to_quat_wxyz(R: ArrayLike) -> FloatArray:
    """Unit quaternion (w, x, y, z), w >= 0, of a (3, 3) rotation matrix."""
    q = Rotation.from_matrix(_finite("rotation", R, (3, 3))).as_quat(scalar_first=True)
    return -q if q[0] < 0 else q


def pose_to_matrix(pose: ArrayLike) -> FloatArray:
    """(4, 4) pose from a (7,) position [m] + quaternion wxyz."""
    p = _finite("pose", pose, (7,))
    T = np.eye(4)
    T[:3, :3] = quat_wxyz_to_matrix(p[3:])
    T[:3, 3] = p[:3]
    return T


def matrix_to_pose(T: ArrayLike) -> FloatArray:
    """(7,) position [m] + quaternion wxyz (w >= 0) of a (4, 4) pose."""
    M = check_pose_matrix(T)
    return np.concatenate([M[:3, 3], matrix_to_quat_wxyz(M[:3, :3])])


def check_pose_matrix(T: ArrayLike, name: str = "pose") -> FloatArray:
    """`T` as a float (4, 4) rigid transform, or MessageError naming what is wrong with it."""
    M = _finite(name, T, (4, 4))
    R = M[:3, :3]
    if not np.allclose(M[3], [0.0, 0.0, 0.0, 1.0]):
        raise MessageError(f"{name} bottom row is {M[3].tolist()}, expected [0, 0, 0, 1]")
    if np.abs(R.T @ R - np.eye(3)).max() > ROTATION_TOL or np.linalg.det(R) < 0:
        raise MessageError(f"{name} rotation is not orthonormal with det +1")
    return M


def as_pose_matrix(target: ArrayLike, name: str = "target") -> FloatArray:
    """Accept a pose either as (4, 4) or as (7,) position + quaternion wxyz; return (4, 4)."""
    arr = np.asarray(target, dtype=np.float64)
    if arr.shape == (7,):
        return pose_to_matrix(arr)
    if arr.shape == (4, 4):
        return check_pose_matrix(arr, name)
    raise MessageError(f"{name} has shape {arr.shape}, expected (4, 4) or (7,) position + quaternion wxyz")


def pose_error(T_world_a: ArrayLike, T_world_b: ArrayLike) -> tuple[float, float]:
    """Position distance [m] and rotation angle [rad] between two poses."""
    A, B = np.asarray(T_world_a, dtype=float), np.asarray(T_world_b, dtype=float)
    pos_m = float(np.linalg.norm(A[:3, 3] - B[:3, 3]))
    # Rotation.magnitude stays accurate for tiny angles, where arccos((trace - 1) / 2) does not.
    return pos_m, float(Rotation.from_matrix(A[:3, :3].T @ B[:3, :3]).magnitude())


def invert_pose(T_a_b: ArrayLike) -> FloatArray:
    """T_b_a from T_a_b, using the rigid-transform structure instead of a general inverse."""
    T = np.asarray(T_a_b, dtype=float)
    inv = np.eye(4)
    inv[:3, :3] = T[:3, :3].T
    inv[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return inv
