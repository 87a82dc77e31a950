import numpy as np
import pytest

from hvla.controllers.safety import SafetyConfig, SafetyLayer
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
    q = Q + 1e-3
    out = safety.check(cmd(q, np.full(7, 0.1)), Q, DT)
    np.testing.assert_array_equal(out.q_rad, q)
    np.testing.assert_array_equal(out.dq_radps, np.full(7, 0.1))
    assert not safety.events


def test_nan_state_or_command_raises_and_is_logged(safety):
    with pytest.raises(SafetyError, match="non-finite"):
        safety.check(cmd(Q), np.full(7, np.nan), DT)
    smuggled = cmd(Q)
    object.__setattr__(smuggled, "q_rad", np.full(7, np.inf))  # bypassing JointCommand's own check
    with pytest.raises(SafetyError):
        safety.check(smuggled, Q, DT)
    assert safety.counts["nonfinite"] == 2


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
    up[3] += 0.002
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
    away = toward_singularity(-0.854)
    np.testing.assert_allclose(safety.check(cmd(away), q0, DT).q_rad, away)


def test_estop_holds_the_measured_position_on_the_very_next_command(safety):
    safety.check(cmd(Q + 0.001), Q, DT)
    safety.estop("operator pressed stop")
    q_measured = Q + 0.0015
    for i in range(5):  # keeps holding the position latched at the first command, whatever is asked
        out = safety.check(cmd(Q + 0.003, np.ones(7)), q_measured + 0.01 * i, DT)
        np.testing.assert_allclose(out.q_rad, q_measured)
        np.testing.assert_array_equal(out.dq_radps, 0.0)
        assert out.gripper_m == 0.04
    assert safety.estopped and safety.counts["estop"] == 1
    safety.reset_estop()
    out = safety.check(cmd(Q + 0.002), Q + 0.0015, DT)
    np.testing.assert_allclose(out.q_rad, Q + 0.002)


def test_watchdog_holds_where_the_robot_is_after_silence(safety):
    safety.check(cmd(Q + 0.001), Q, DT)
    out = safety.check(cmd(Q + 0.002), Q + 0.0012, 0.25)
    np.testing.assert_allclose(out.q_rad, Q + 0.0012)
    np.testing.assert_array_equal(out.dq_radps, 0.0)
    assert safety.counts["watchdog"] == 1


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
