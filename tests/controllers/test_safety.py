import numpy as np
import pytest

from hvla.controllers.braking import limit_ratios
from hvla.controllers.safety import SafetyConfig, SafetyLayer
from hvla.controllers.trajectory import JointTrajectory, TrajectoryConfig
from hvla.core import panda
from hvla.core.errors import ConfigError, SafetyError
from hvla.core.robot import JointCommand

DT = 0.002
Q = panda.Q_READY_RAD


def cmd(q, dq=None, gripper=0.04):
    return JointCommand(np.asarray(q, float), np.zeros(7) if dq is None else np.asarray(dq, float), gripper)


def toward_singularity(q4: float) -> np.ndarray:
    """A family of in-workspace poses whose Jacobian condition number grows as q4 -> -0.5."""
    return np.array([0.0, 0.6, 0.0, q4, 0.0, 0.6 - q4, np.pi / 4])


@pytest.fixture
def safety(model):
    return SafetyLayer(model)


def test_a_small_step_passes_unchanged(safety):
    q = Q + 1e-5  # from rest: 2.5 rad/s^2 and 1250 rad/s^3, within every joint's limits
    out = safety.check(cmd(q, np.full(7, 0.1)), Q, DT)
    np.testing.assert_array_equal(out.q_rad, q)
    np.testing.assert_array_equal(out.dq_radps, np.full(7, 0.1))
    assert not safety.events


def test_nan_before_any_command_raises_and_is_logged(safety):
    with pytest.raises(SafetyError, match="non-finite"):
        safety.check(cmd(Q), np.full(7, np.nan), DT)
    smuggled = cmd(Q)
    object.__setattr__(smuggled, "q_rad", np.full(7, np.inf))  # bypassing JointCommand's own check
    with pytest.raises(SafetyError):
        safety.check(smuggled, Q, DT)
    assert safety.counts["nonfinite"] == 2


def test_nan_in_the_measured_state_mid_motion_engages_the_estop_and_brakes_within_the_limits(safety):
    sent = moving_stream(safety, 300)
    sent.append(safety.check(cmd(sent[-1].q_rad), np.full(7, np.nan), DT))  # the encoder read NaN once
    assert safety.estopped and "non-finite measured joint state" in safety.estop_reason
    while not safety.at_rest:
        sent.append(safety.check(cmd(Q), Q, DT))
    assert limit_ratios(np.array([c.q_rad for c in sent]), DT).worst <= 1.0


def test_positions_are_clamped_inside_the_margin(safety):
    q_now = Q.copy()
    q_now[0] = panda.Q_MAX_RAD[0] - panda.COMMAND_MARGIN_RAD - 0.001
    target = q_now.copy()
    target[0] = 3.0  # beyond the hard limit
    out = safety.check(cmd(target), q_now, DT)
    assert out.q_rad[0] <= panda.Q_MAX_RAD[0] - panda.COMMAND_MARGIN_RAD + 1e-12
    assert safety.counts["joint_limit"] == 1
    assert safety.events[0].kind == "joint_limit" and safety.events[0].t_s == pytest.approx(DT)


def test_velocities_and_position_jumps_are_clamped_to_the_hard_limits(safety):
    out = safety.check(cmd(Q + 0.1, np.full(7, 10.0)), Q, DT)
    assert np.all(np.abs(out.dq_radps) <= panda.DQ_MAX_RADPS + 1e-12)
    assert np.all(np.abs(out.q_rad - Q) <= panda.DQ_MAX_RADPS * DT + 1e-12)
    assert {"joint_velocity", "joint_step"} <= set(safety.counts)


def test_leaving_the_workspace_is_refused_by_holding_the_last_safe_command(model):
    z_now = model.fk(Q)[2, 3]
    safety = SafetyLayer(model, SafetyConfig(workspace_min_m=(0.1, -0.6, z_now - 1e-4)))
    down = Q.copy()
    down[3] -= 0.002  # bending the elbow lowers the TCP below the box
    assert model.fk(down)[2, 3] < z_now - 1e-4
    out = safety.check(cmd(down, np.full(7, 0.5)), Q, DT)
    np.testing.assert_allclose(out.q_rad, Q)
    np.testing.assert_array_equal(out.dq_radps, 0.0)
    assert safety.counts["workspace"] == 1 and safety.refusals() == 1
    assert safety.events[-1].refused
    up = Q.copy()
    up[3] += 2e-5  # a step the acceleration and jerk limits allow from rest
    np.testing.assert_allclose(safety.check(cmd(up), Q, DT).q_rad, up)  # moving back in is fine


def test_tcp_faster_than_the_limit_is_refused(model):
    safety = SafetyLayer(model, SafetyConfig(max_ee_speed_mps=0.05))
    fast = Q.copy()
    fast[0] += 0.004  # 0.46 m lever: ~0.9 m/s over one period
    out = safety.check(cmd(fast), Q, DT)
    np.testing.assert_allclose(out.q_rad, Q)
    assert safety.counts["ee_speed"] == 1


def test_feed_forward_velocity_is_scaled_to_the_tcp_speed_limit(model):
    safety = SafetyLayer(model, SafetyConfig(max_ee_speed_mps=0.1))
    out = safety.check(cmd(Q, np.full(7, 1.0)), Q, DT)
    assert np.linalg.norm(model.jacobian(out.q_rad)[:3] @ out.dq_radps) == pytest.approx(0.1)


def test_motion_toward_a_singularity_is_slowed_then_halted(safety, model):
    assert 17 < model.condition_number(toward_singularity(-1.2)) < 30
    assert model.condition_number(toward_singularity(-0.85)) > 30
    # Slow zone: the step toward the singularity is shortened.
    q0, q1 = toward_singularity(-1.2), toward_singularity(-1.198)
    out = safety.check(cmd(q1), q0, DT)
    assert 0 < np.abs(out.q_rad - q0).max() < np.abs(q1 - q0).max()
    assert safety.counts["singularity_slow"] == 1
    # Halt zone: refused.
    safety.reset()
    q0, q1 = toward_singularity(-0.852), toward_singularity(-0.85)
    out = safety.check(cmd(q1), q0, DT)
    np.testing.assert_allclose(out.q_rad, q0)
    assert safety.counts["singularity_halt"] == 1
    # Leaving the singularity is always allowed.
    away = toward_singularity(-0.85202)
    np.testing.assert_allclose(safety.check(cmd(away), q0, DT).q_rad, away)


def test_estop_at_rest_holds_the_measured_position_and_stays_latched(safety):
    safety.estop("operator pressed stop")
    q_measured = Q + 0.0015
    for i in range(5):  # keeps holding the position latched at the first command, whatever is asked
        out = safety.check(cmd(Q + 0.003, np.ones(7)), q_measured + 0.01 * i, DT)
        np.testing.assert_allclose(out.q_rad, q_measured)
        np.testing.assert_array_equal(out.dq_radps, 0.0)
        assert out.gripper_m == 0.04
    assert safety.estopped and safety.counts["estop"] == 1 and safety.estop_reason == "operator pressed stop"
    safety.reset_estop()
    assert not safety.estopped
    out = safety.check(cmd(Q + 0.0015 + 1e-5), Q + 0.0015, DT)
    np.testing.assert_allclose(out.q_rad, Q + 0.0015 + 1e-5)


def moving_stream(safety, steps: int = 400):
    """Drive `safety` with a real planned motion (ruckig at full planning speed); the commands it sent."""
    traj = JointTrajectory(TrajectoryConfig(velocity_scale=0.5, acceleration_scale=0.25, jerk_scale=0.25), Q)
    goal = Q + np.array([1.5, 0.6, -1.0, 0.8, 1.2, 0.9, -1.4])
    traj.set_target(goal)
    sent = []
    for _ in range(steps):
        s = traj.step()
        sent.append(safety.check(cmd(s.q_rad, s.dq_radps), s.q_rad, DT))
    return sent


def test_estop_at_speed_brakes_to_rest_within_the_acceleration_and_jerk_limits(safety):
    sent = moving_stream(safety)
    speed = np.abs(sent[-1].dq_radps).max()
    assert speed > 0.5  # the arm is moving fast when the stop comes
    safety.estop("operator pressed stop")
    with pytest.raises(SafetyError, match="still braking"):
        safety.reset_estop()
    for _ in range(600):
        sent.append(safety.check(cmd(Q, np.ones(7)), Q, DT))  # whatever is asked, the stop goes on
    stream = np.array([c.q_rad for c in sent])
    ratios = limit_ratios(stream, DT, np.array([c.dq_radps for c in sent]))
    assert ratios.worst <= 1.0, ratios
    assert ratios.acceleration > 0.5  # time-optimal: it brakes near the hard limits, not the planning ones
    assert safety.at_rest and np.abs(sent[-1].dq_radps).max() == 0.0
    travel = np.abs(stream[-1] - stream[400]).max()
    assert travel < speed**2 / (2 * 0.9 * panda.DDQ_MAX_RADPS2.min()) + 0.05  # stopped within a braking distance
    safety.reset_estop()  # at rest: the operator may release it


def test_a_jump_in_the_stream_is_filtered_to_the_limits(safety):
    sent = moving_stream(safety, 200)
    jump = sent[-1].q_rad + 0.004  # 2 rad/s more in one period: far beyond the acceleration limit
    sent.append(safety.check(cmd(jump, sent[-1].dq_radps), jump, DT))
    assert safety.counts["joint_acceleration"] + safety.counts["joint_jerk"] + safety.counts["ee_speed"] >= 1
    for _ in range(300):  # and the stream goes on from what was sent, not from the jump
        sent.append(safety.check(cmd(jump, np.zeros(7)), jump, DT))
    np.testing.assert_allclose(sent[-1].q_rad, jump, atol=1e-6)  # it gets there within the limits
    ratios = limit_ratios(np.array([c.q_rad for c in sent]), DT)
    assert ratios.worst <= 1.0, ratios


def test_watchdog_brakes_the_stream_after_silence(safety):
    sent = moving_stream(safety, 300)
    for _ in range(400):  # the sender comes back after 0.25 s: the stop continues the stream as it was
        # Whatever it asks for once it is back, the stop runs to its end.
        sent.append(safety.check(cmd(Q + 0.002), Q + 0.0012, 0.25 if len(sent) == 300 else DT))
        if safety.at_rest:
            break
    assert safety.counts["watchdog"] == 1
    ratios = limit_ratios(np.array([c.q_rad for c in sent]), DT)
    assert ratios.worst <= 1.0, ratios
    assert safety.at_rest


def test_gripper_is_clamped_to_its_range(safety):
    out = safety.check(cmd(Q, gripper=0.5), Q, DT)
    assert out.gripper_m == panda.GRIPPER_MAX_M
    assert safety.counts["gripper"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_ee_speed_mps": 2.0},  # above the hard bound
        {"workspace_min_m": (0.9, 0.0, 0.0), "workspace_max_m": (0.1, 0.6, 0.9)},
        {"singularity_slow_cond": 30.0, "singularity_halt_cond": 17.0},
        {"watchdog_s": 0.0},
    ],
)
def test_invalid_config_raises(kwargs):
    with pytest.raises(ConfigError):
        SafetyConfig(**kwargs)
