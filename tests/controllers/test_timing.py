import numpy as np
import pytest

from hvla.controllers import CartesianController, KinematicRobot
from hvla.controllers.timing import pass_velocities, time_scale
from hvla.controllers.trajectory import JointTrajectory
from hvla.controllers.transforms import matrix_to_pose
from hvla.core import panda
from hvla.core.messages import ActionChunk

VMAX = np.full(7, 1.0)
AMAX = np.full(7, 2.0)


def test_stretched_timing_respects_velocity_and_acceleration():
    rng = np.random.default_rng(0)
    q_start = np.zeros(7)
    q_wp = np.cumsum(rng.normal(0, 0.1, (12, 7)), axis=0)
    d = time_scale(q_start, np.zeros(7), q_wp, np.full(12, 0.05), VMAX, AMAX)
    assert np.all(d >= 0.05)
    v = np.diff(np.vstack([q_start, q_wp]), axis=0) / d[:, None]
    assert np.all(np.abs(v) <= VMAX + 1e-9)
    v_all = np.vstack([np.zeros(7), v, np.zeros(7)])
    spans = np.concatenate([[d[0] / 2], (d[:-1] + d[1:]) / 2, [d[-1] / 2]])
    assert np.all(np.abs(np.diff(v_all, axis=0)) <= AMAX * spans[:, None] * (1 + 1e-6))


def test_feasible_timing_is_left_alone():
    q_wp = np.outer(np.arange(1, 6), np.full(7, 0.001))  # tiny steps
    np.testing.assert_allclose(time_scale(np.zeros(7), np.zeros(7), q_wp, np.full(5, 0.1), VMAX, AMAX), 0.1)


def test_pass_velocity_is_the_central_difference_and_zero_at_the_end():
    q_wp = np.array([[1.0] * 7, [3.0] * 7, [4.0] * 7])
    v = pass_velocities(np.zeros(7), q_wp, np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(v[:, 0], [1.5, 1.5, 0.0])
    # Unequal spacing: exact for a quadratic q(t) = t^2 sampled at t = 1, 3 (start at t = 0).
    v = pass_velocities(np.zeros(7), np.array([[1.0] * 7, [9.0] * 7]), np.array([1.0, 2.0]))
    assert v[0, 0] == pytest.approx(2.0)


def test_unbuildable_pass_velocity_falls_back_to_arriving_at_rest():
    traj = JointTrajectory(q0_rad=panda.Q_READY_RAD)
    target = panda.Q_READY_RAD + 0.01
    traj.set_target(target, np.full(7, 1.0))  # 1 rad/s within 0.01 rad from rest: impossible without a swing
    steps = 0
    while not traj.done:
        traj.step()
        steps += 1
    assert steps < 150  # a swing-and-return would take seconds


def test_fast_chunk_from_rest_is_slowed_not_swung(model):
    """A chunk asking for more than the planning limits gets stretched, and the TCP path stays on the line."""
    ctl = CartesianController(model=model)
    robot = KinematicRobot(model=model)
    start = matrix_to_pose(model.fk(robot.q_rad))
    targets = np.tile(start, (10, 1))
    targets[:, :3] += np.outer(np.linspace(0.1, 1.0, 10), [-0.1, 0.15, 0.05])
    result = ctl.follow(ActionChunk(targets, np.full(10, 0.04), dt_s=0.05), robot)
    assert result.reached
    tcp = np.array([model.fk(c.q_rad)[:3, 3] for c in robot.commands])
    direction = (targets[-1, :3] - start[:3]) / np.linalg.norm(targets[-1, :3] - start[:3])
    progress = (tcp - start[:3]) @ direction
    assert np.all(np.diff(progress) > -1e-4)  # never backs up along the line
    off_line = np.linalg.norm((tcp - start[:3]) - np.outer(progress, direction), axis=1)
    assert off_line.max() < 0.01
