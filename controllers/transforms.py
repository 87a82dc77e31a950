"""Pose and quaternion helpers. Quaternions are (w, x, y, z); poses are 4x4 homogeneous matrices.

One place converts between the (7,) position + quaternion form that messages carry and the 4x4
form the kinematics use, and validates both, so a NaN or a non-unit quaternion never reaches IK.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from hvla.core.errors import MessageError

FloatArray = NDArray[np.float64]

QUAT_NORM_TOL = 1e-3  # the tolerance ActionChunk accepts; we renormalise within it
ROTATION_TOL = 1e-6  # |R^T R - I| allowed in a 4x4 pose
_BOTTOM_ROW = np.array([0.0, 0.0, 0.0, 1.0])
_BOTTOM_ROW_TOL = 1e-8 + 1e-5 * _BOTTOM_ROW  # np.allclose's default atol + rtol * |expected|


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
    """(3, 3) rotation matrix of a unit quaternion (w, x, y, z) (written out: a waypoint's pose, 10 a tick)."""
    w, x, y, z = normalize_quat_wxyz(quat_wxyz).tolist()
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quat_wxyz(R: ArrayLike) -> FloatArray:
    """Unit quaternion (w, x, y, z), w >= 0, of a (3, 3) rotation matrix.

    Shepperd's method on Python floats: the controller converts every waypoint's IK result (10 a tick), and
    scipy's `Rotation.from_matrix` costs ~90 us a call in object set-up alone."""
    (a, b, c), (d, e, f), (g, h, i) = _finite("rotation", R, (3, 3)).tolist()
    trace = a + e + i
    if trace >= max(a, e, i):  # the largest of 4w^2, 4x^2, 4y^2, 4z^2 picks the stable formula
        r = 2.0 * math.sqrt(max(1.0 + trace, 0.0))
        q = (0.25 * r, (h - f) / r, (c - g) / r, (d - b) / r)
    elif a >= e and a >= i:
        r = 2.0 * math.sqrt(max(1.0 + a - e - i, 0.0))
        q = ((h - f) / r, 0.25 * r, (b + d) / r, (c + g) / r)
    elif e >= i:
        r = 2.0 * math.sqrt(max(1.0 - a + e - i, 0.0))
        q = ((c - g) / r, (b + d) / r, 0.25 * r, (f + h) / r)
    else:
        r = 2.0 * math.sqrt(max(1.0 - a - e + i, 0.0))
        q = ((d - b) / r, (c + g) / r, (f + h) / r, 0.25 * r)
    out = np.array(q) / math.sqrt(sum(x * x for x in q))
    return -out if out[0] < 0 else out


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
    if (np.abs(M[3] - _BOTTOM_ROW) > _BOTTOM_ROW_TOL).any():  # np.allclose's bound, without its overhead
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
