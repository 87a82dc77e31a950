import numpy as np
import pytest

from hvla.controllers import CONTROLLERS, CartesianController, Controller, KinematicRobot
from hvla.controllers.braking import limit_ratios
from hvla.controllers.transforms import matrix_to_pose, pose_error, pose_to_matrix
from hvla.core import panda
from hvla.core.errors import UnreachableError
from hvla.core.messages import ActionChunk


@pytest.fixture
def controller(model):
    return CartesianController(model=model)


@pytest.fixture
def robot(model):
    return KinematicRobot(model=model)


def line_chunk(model, q_start, offset_m, k=8, dt_s=0.1, gripper_m=0.04) -> ActionChunk:
    """K waypoints on a straight line from the TCP at `q_start`, orientation kept."""
    start = matrix_to_pose(model.fk(q_start))
    targets = np.tile(start, (k, 1))
    targets[:, :3] += np.outer(np.linspace(1 / k, 1, k), offset_m)
    return ActionChunk(targets, np.full(k, gripper_m), dt_s=dt_s)


def test_registered_by_name_and_satisfies_the_protocol(controller):
    assert CONTROLLERS.get("cartesian") is CartesianController
    checked: Controller = controller  # static check; at run time the methods exist
    assert callable(checked.follow) and callable(checked.hold)


def test_follow_reaches_the_last_waypoint(controller, robot, model):
    chunk = line_chunk(model, robot.q_rad, [0.1, -0.05, -0.15])
    result = controller.follow(chunk, robot)
    assert result.reached and result.ok
    assert result.final_error_m < 1e-3 and result.final_error_rad < 0.01
    err_m, _ = pose_error(model.fk(robot.q_rad), pose_to_matrix(chunk.ee_targets[-1]))
    assert err_m < 1e-3
    assert robot.gripper_m == pytest.approx(0.04)
    assert result.steps == len(robot.commands)


def test_streamed_commands_respect_the_planning_limits(controller, robot, model):
    controller.follow(line_chunk(model, robot.q_rad, [0.15, 0.1, -0.1]), robot)
    q = np.array([c.q_rad for c in robot.commands])
    dq = np.array([c.dq_radps for c in robot.commands])
    cfg = controller.config.trajectory
    assert np.all(np.abs(dq) <= cfg.max_velocity_radps + 1e-9)
    ddq = np.diff(dq, axis=0) / cfg.control_dt_s
    assert np.all(np.abs(ddq) <= cfg.max_acceleration_radps2 * 1.01)
    tcp = np.array([model.fk(qi)[:3, 3] for qi in q])
    speed = np.linalg.norm(np.diff(tcp, axis=0), axis=1) / cfg.control_dt_s
    assert speed.max() <= controller.config.safety.max_ee_speed_mps


def test_unreachable_waypoints_are_skipped_and_reported(controller, robot, model):
    chunk = line_chunk(model, robot.q_rad, [0.05, 0.0, -0.05], k=4)
    targets = np.array(chunk.ee_targets)
    targets[1, :3] = [3.0, 0.0, 0.5]  # far outside the reach
    result = controller.follow(ActionChunk(targets, chunk.gripper_m, dt_s=0.1), robot)
    assert result.unreachable == (1,)
    assert "unreachable" in result.skip_reasons[0]
    assert result.reached  # the remaining waypoints were executed


def test_waypoint_outside_the_workspace_box_is_skipped(controller, robot, model):
    chunk = line_chunk(model, robot.q_rad, [0.0, 0.0, -0.5], k=4)  # ends 0.1 m below the table top
    result = controller.follow(chunk, robot)
    assert result.unreachable == (3,)
    assert "workspace" in result.skip_reasons[0]
    assert model.fk(robot.q_rad)[2, 3] >= 0.0


def test_chunk_with_no_reachable_waypoint_raises(controller, robot):
    targets = np.array([[3.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.5, 1.0, 0.0, 0.0, 0.0]])
    q_before = robot.q_rad.copy()
    with pytest.raises(UnreachableError, match=r"target \[3\.0"):
        controller.follow(ActionChunk(targets, np.zeros(2)), robot)
    np.testing.assert_array_equal(robot.q_rad, q_before)  # nothing was commanded


def test_estop_during_follow_brakes_within_the_limits_then_holds_until_reset(controller, model):
    class StopAfter(KinematicRobot):
        """Engages the e-stop from 'outside' after n commands, as an operator or monitor would."""

        def command(self, cmd):
            super().command(cmd)
            if len(self.commands) == 300:
                self.speed_at_stop = np.abs(cmd.dq_radps).max()
                controller.estop("test")

    robot = StopAfter(model=model)
    result = controller.follow(line_chunk(model, robot.q_rad, [0.3, 0.3, -0.2]), robot)
    assert result.estopped and not result.reached and controller.estopped
    assert robot.speed_at_stop > 0.2  # moving when the stop came
    stream = np.array([c.q_rad for c in robot.commands])
    ratios = limit_ratios(stream, robot.control_dt_s, np.array([c.dq_radps for c in robot.commands]))
    assert ratios.worst <= 1.0, ratios  # no discontinuity the FCI would reject
    np.testing.assert_array_equal(robot.commands[-1].dq_radps, 0.0)  # and it ends at rest
    q_stopped = robot.q_rad.copy()
    # Latched: later calls hold where the stop ended, until the operator resets it.
    assert controller.follow(line_chunk(model, robot.q_rad, [0.05, 0, 0]), robot).estopped
    np.testing.assert_allclose(robot.q_rad, q_stopped)
    controller.reset_estop()
    assert not controller.estopped
    assert controller.follow(line_chunk(model, robot.q_rad, [0.05, 0, 0]), robot).reached


def test_a_silent_sender_trips_the_watchdog_and_the_arm_brakes(controller, robot, model):
    chunk = line_chunk(model, robot.q_rad, [0.3, 0.2, -0.1], k=10)
    controller.follow(chunk, robot, duration_s=0.4)  # receding horizon: the arm is left moving
    assert np.abs(robot.commands[-1].dq_radps).max() > 0.1
    robot.t_s += 0.25  # no command for 0.25 s (the policy hung)
    n = len(robot.commands)
    controller.follow(chunk, robot, duration_s=0.4)
    assert controller.safety.counts["watchdog"] == 1
    ratios = limit_ratios(np.array([c.q_rad for c in robot.commands]), robot.control_dt_s)
    assert ratios.worst <= 1.0, ratios
    assert any(not np.any(c.dq_radps) for c in robot.commands[n:])  # it came to rest


def test_receding_horizon_then_continue_is_smooth(controller, robot, model):
    chunk = line_chunk(model, robot.q_rad, [0.0, 0.2, 0.0], k=10)
    first = controller.follow(chunk, robot, duration_s=0.3)
    assert first.steps == 150 and not first.reached
    rest = ActionChunk(chunk.ee_targets[3:], chunk.gripper_m[3:], dt_s=chunk.dt_s)
    assert controller.follow(rest, robot).reached
    dq = np.array([c.dq_radps for c in robot.commands])
    ddq = np.diff(dq, axis=0) / robot.control_dt_s
    assert np.all(np.abs(ddq) <= controller.config.trajectory.max_acceleration_radps2 * 1.01)  # no jump at the seam


def test_hold_keeps_the_arm_still(controller, robot):
    q0 = robot.q_rad.copy()
    result = controller.hold(robot, 0.2)
    assert result.steps == 100
    np.testing.assert_allclose(robot.q_rad, q0, atol=1e-12)


def test_follow_starts_from_the_robot_when_it_was_moved_elsewhere(controller, robot, model):
    controller.follow(line_chunk(model, robot.q_rad, [0.05, 0, 0]), robot)
    moved = panda.Q_READY_RAD + np.array([0.3, 0.1, 0, 0.1, 0, 0, 0])
    robot.q_rad = moved.copy()  # moved by hand
    result = controller.follow(line_chunk(model, robot.q_rad, [0.0, 0.05, 0.0]), robot)
    assert result.reached
    first = robot.commands[-result.steps]
    assert np.abs(first.q_rad - moved).max() < 0.01


def test_chunk_entirely_outside_the_workspace_raises_with_the_distance(controller, robot):
    targets = np.array([[0.5, 0.0, -0.2, 0.0, 1.0, 0.0, 0.0]])  # 0.2 m under the table top, reachable by IK
    with pytest.raises(UnreachableError, match=r"residual 200\.0 mm"):
        controller.follow(ActionChunk(targets, np.zeros(1)), robot)


def test_receding_horizon_chunks_keep_up_with_the_policy(controller, robot, model):
    """A 10 Hz policy asking for 0.2 m/s toward a goal 0.33 m away: the arm must keep up, not creep."""
    goal = np.array([0.55, 0.2, 0.15])
    for _ in range(30):  # 3 s; at 0.2 m/s the distance takes ~1.7 s plus acceleration
        pose = matrix_to_pose(model.fk(robot.q_rad))
        gap = goal - pose[:3]
        step = gap / max(np.linalg.norm(gap), 1e-9) * min(0.02, np.linalg.norm(gap) / 8)
        targets = np.tile(pose, (8, 1))
        targets[:, :3] += np.outer(np.arange(1, 9), step)
        controller.follow(ActionChunk(targets, np.full(8, 0.08), dt_s=0.1), robot, duration_s=0.1)
    assert np.linalg.norm(model.fk(robot.q_rad)[:3, 3] - goal) < 0.01
