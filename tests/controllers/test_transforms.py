import numpy as np
import pytest

from hvla.controllers.transforms import (
    as_pose_matrix,
    matrix_to_pose,
    matrix_to_quat_wxyz,
    pose_error,
    pose_to_matrix,
    quat_wxyz_to_matrix,
)
from hvla.core.errors import MessageError


def test_quaternion_is_scalar_first():
    # (w, x, y, z) = (0, 1, 0, 0) is a half turn about x: y -> -y, z -> -z.
    np.testing.assert_allclose(quat_wxyz_to_matrix([0, 1, 0, 0]), np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    half = np.sqrt(0.5)
    np.testing.assert_allclose(quat_wxyz_to_matrix([half, 0, 0, half]) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_pose_round_trip_keeps_w_non_negative():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        pose = np.concatenate([rng.normal(size=3), q / np.linalg.norm(q)])
        back = matrix_to_pose(pose_to_matrix(pose))
        assert back[3] >= 0
        np.testing.assert_allclose(pose_to_matrix(back), pose_to_matrix(pose), atol=1e-12)
        assert matrix_to_quat_wxyz(pose_to_matrix(pose)[:3, :3])[0] >= 0


@pytest.mark.parametrize(
    "bad",
    [
        [0.1, 0.2, np.nan, 1, 0, 0, 0],
        [0.1, 0.2, 0.3, 2.0, 0, 0, 0],  # not a unit quaternion
        [0.1, 0.2, 0.3, 1, 0, 0],  # wrong length
    ],
)
def test_malformed_poses_raise_message_error(bad):
    with pytest.raises(MessageError):
        as_pose_matrix(bad)


def test_non_rigid_matrix_is_rejected():
    T = np.eye(4)
    T[0, 0] = 2.0
    with pytest.raises(MessageError, match="orthonormal"):
        as_pose_matrix(T)


def test_pose_error_measures_distance_and_angle():
    a = pose_to_matrix([0, 0, 0, 1, 0, 0, 0])
    b = pose_to_matrix([0.3, 0.4, 0, np.cos(0.05), np.sin(0.05), 0, 0])  # 0.1 rad about x
    err_m, err_rad = pose_error(a, b)
    assert err_m == pytest.approx(0.5)
    assert err_rad == pytest.approx(0.1)


@pytest.mark.parametrize("axis", [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0], [0, 0.6, -0.8]])
@pytest.mark.parametrize("angle", [0.0, 1e-7, 1.0, np.pi - 1e-6, np.pi])
def test_matrix_to_quaternion_round_trips_every_branch(axis, angle):
    # Half turns about x, y, z take each of the formula's four branches; near-zero and near-half turns test
    # its conditioning.
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    quat = np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis])
    R = quat_wxyz_to_matrix(quat)
    back = matrix_to_quat_wxyz(R)
    assert back[0] >= 0 and abs(np.linalg.norm(back) - 1) < 1e-12
    np.testing.assert_allclose(quat_wxyz_to_matrix(back), R, atol=1e-12)
