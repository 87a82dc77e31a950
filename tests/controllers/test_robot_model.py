import numpy as np
import pytest

from hvla.controllers.robot_model import PandaModel
from hvla.core import panda
from hvla.core.errors import MessageError


def test_model_has_exactly_the_seven_arm_joints(model):
    assert model.model.nq == 7
    np.testing.assert_allclose(model.q_min_rad, panda.Q_MIN_RAD)
    np.testing.assert_allclose(model.q_max_rad, panda.Q_MAX_RAD)


def test_ready_pose_puts_the_hand_down_in_front_of_the_base(model):
    T = model.fk(panda.Q_READY_RAD)
    np.testing.assert_allclose(T[:3, 3], [0.4635, 0.0, 0.4028], atol=1e-3)
    np.testing.assert_allclose(T[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)  # tool z points down
    np.testing.assert_allclose(T[3], [0, 0, 0, 1])


def test_zero_pose_tcp_height_matches_link_lengths(model):
    # All joints at zero the arm stands up (0.333 + 0.316 + 0.384) and the hand hangs down from the wrist
    # (flange 0.107 + TCP 0.1034), 0.088 in front of the base axis.
    T = model.fk(np.zeros(7))
    assert T[0, 3] == pytest.approx(0.088, abs=1e-6)
    assert T[2, 3] == pytest.approx(0.333 + 0.316 + 0.384 - 0.107 - 0.1034, abs=1e-6)


def test_base_mount_transform_moves_the_tcp(model):
    T_world_base = np.eye(4)
    T_world_base[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # yaw 90 degrees
    T_world_base[:3, 3] = [1.0, 2.0, 0.5]
    mounted = PandaModel(T_world_base)
    q = panda.Q_READY_RAD
    np.testing.assert_allclose(mounted.fk(q), T_world_base @ model.fk(q), atol=1e-12)
    J0, J1 = model.jacobian(q), mounted.jacobian(q)
    np.testing.assert_allclose(J1[:3], T_world_base[:3, :3] @ J0[:3], atol=1e-12)


def test_jacobian_matches_finite_differences(model):
    rng = np.random.default_rng(3)
    q = model.random_q(rng)
    J = model.jacobian(q)
    assert J.shape == (6, 7)
    eps = 1e-6
    T0 = model.fk(q)
    for j in range(7):
        dq = np.zeros(7)
        dq[j] = eps
        T1 = model.fk(q + dq)
        np.testing.assert_allclose((T1[:3, 3] - T0[:3, 3]) / eps, J[:3, j], atol=1e-5)
        dR = T1[:3, :3] @ T0[:3, :3].T  # world-frame rotation increment ~ I + [w]x eps
        w = np.array([dR[2, 1] - dR[1, 2], dR[0, 2] - dR[2, 0], dR[1, 0] - dR[0, 1]]) / (2 * eps)
        np.testing.assert_allclose(w, J[3:, j], atol=1e-5)


def test_condition_number_is_low_at_ready_and_high_at_a_stretched_arm(model):
    assert model.condition_number(panda.Q_READY_RAD) < 17
    stretched = np.array([0.0, 0.0, 0.0, -0.07, 0.0, 0.0, 0.0])  # elbow straight, wrist aligned
    assert model.condition_number(stretched) > 30


@pytest.mark.parametrize("q", [np.zeros(6), np.full(7, np.nan)])
def test_bad_configuration_raises(model, q):
    with pytest.raises(MessageError):
        model.fk(q)


def test_one_pass_kinematics_equals_fk_and_jacobian_with_a_mounted_base():
    mounted = PandaModel(T_world_base=np.array([[0, -1, 0, 0.2], [1, 0, 0, -0.1], [0, 0, 1, 0.9], [0, 0, 0, 1.0]]))
    rng = np.random.default_rng(3)
    for _ in range(5):
        q = mounted.random_q(rng)
        T, J = mounted.kinematics(q)
        np.testing.assert_allclose(T, mounted.fk(q), atol=1e-12)
        np.testing.assert_allclose(J, mounted.jacobian(q), atol=1e-12)
