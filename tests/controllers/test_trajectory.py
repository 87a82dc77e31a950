import numpy as np
import pytest

from hvla.controllers.trajectory import JointTrajectory, TrajectoryConfig
from hvla.core import panda
from hvla.core.errors import ConfigError, MessageError

CFG = TrajectoryConfig()


def _run_random(seed: int, n_steps: int = 1500) -> np.ndarray:
    """Samples (N, 3, 7) of a trajectory whose target changes at random ticks, with random pass velocities."""
    rng = np.random.default_rng(seed)
    lo, hi = panda.Q_MIN_RAD + 0.1, panda.Q_MAX_RAD - 0.1
    traj = JointTrajectory(CFG, rng.uniform(lo, hi))
    samples = []
    for i in range(n_steps):
        if i == 0 or rng.random() < 0.01:
            dq = rng.uniform(-1, 1, 7) * CFG.max_velocity_radps if rng.random() < 0.5 else None
            traj.set_target(rng.uniform(lo, hi), dq, min_duration_s=rng.choice([0.0, 0.1]))
        s = traj.step()
        samples.append([s.q_rad, s.dq_radps, s.ddq_radps2])
    return np.array(samples)


@pytest.mark.parametrize("seed", range(6))
def test_every_sample_respects_the_scaled_limits(seed):
    s = _run_random(seed)
    q, dq, ddq = s[:, 0], s[:, 1], s[:, 2]
    assert np.all(np.abs(dq) <= CFG.max_velocity_radps * (1 + 1e-9) + 1e-12)
    assert np.all(np.abs(ddq) <= CFG.max_acceleration_radps2 * (1 + 1e-9) + 1e-12)
    jerk = np.diff(ddq, axis=0) / CFG.control_dt_s
    assert np.all(np.abs(jerk) <= CFG.max_jerk_radps3 * 1.01)  # finite differences: 1% slack
    # The samples are consistent: positions integrate the velocities.
    np.testing.assert_allclose(np.diff(q, axis=0), (dq[1:] + dq[:-1]) / 2 * CFG.control_dt_s, atol=1e-4)
    assert np.all(q >= panda.Q_MIN_RAD) and np.all(q <= panda.Q_MAX_RAD)


def test_reaches_the_target_and_reports_done():
    traj = JointTrajectory(CFG, panda.Q_READY_RAD)
    assert traj.done
    goal = panda.Q_READY_RAD + np.array([0.3, -0.2, 0.1, 0.2, -0.3, 0.1, 0.4])
    traj.set_target(goal)
    assert not traj.done
    for _ in range(5000):
        s = traj.step()
        if traj.done:
            break
    assert traj.done
    np.testing.assert_allclose(s.q_rad, goal, atol=1e-9)
    np.testing.assert_allclose(s.dq_radps, 0.0, atol=1e-9)
    held = traj.step()  # at rest it stays put
    np.testing.assert_allclose(held.q_rad, goal, atol=1e-12)


def test_minimum_duration_keeps_the_schedule():
    traj = JointTrajectory(CFG, panda.Q_READY_RAD)
    traj.set_target(panda.Q_READY_RAD + 0.01, min_duration_s=0.5)
    steps = 0
    while not traj.done:
        traj.step()
        steps += 1
    assert steps == pytest.approx(0.5 / CFG.control_dt_s, abs=1)


def test_passing_a_target_with_velocity_then_brakes_to_rest():
    traj = JointTrajectory(CFG, panda.Q_READY_RAD)
    traj.set_target(panda.Q_READY_RAD + 0.2, np.full(7, 0.3))
    while not traj.done:
        s = traj.step()
    np.testing.assert_allclose(s.dq_radps, 0.3, atol=1e-9)
    for _ in range(2000):  # no new target: it must come to rest, never coast away
        s = traj.step()
        if traj.done:
            break
    assert traj.done and np.abs(s.dq_radps).max() < 1e-9
    assert np.abs(s.q_rad - (panda.Q_READY_RAD + 0.2)).max() < 0.1


def test_target_velocity_beyond_the_limit_is_clipped():
    traj = JointTrajectory(CFG, panda.Q_READY_RAD)
    traj.set_target(panda.Q_READY_RAD + 0.5, np.full(7, 100.0))
    for _ in range(2000):
        s = traj.step()
        assert np.all(np.abs(s.dq_radps) <= CFG.max_velocity_radps + 1e-12)
        if traj.done:
            break


def test_nan_target_raises():
    traj = JointTrajectory(CFG)
    with pytest.raises(MessageError, match="NaN"):
        traj.set_target(np.full(7, np.nan))


@pytest.mark.parametrize(
    "kwargs", [{"velocity_scale": 0.0}, {"acceleration_scale": 1.5}, {"jerk_scale": -1}, {"control_dt_s": 0}]
)
def test_invalid_config_raises(kwargs):
    with pytest.raises(ConfigError):
        TrajectoryConfig(**kwargs)


def test_reset_with_a_velocity_brakes_to_rest_without_coming_back():
    traj = JointTrajectory(CFG)
    traj.reset(panda.Q_READY_RAD, np.full(7, 0.2))
    positions = []
    for _ in range(1000):
        positions.append(traj.step().q_rad)
        if traj.done:
            break
    assert traj.done
    assert np.all(np.diff(np.array(positions), axis=0) >= -1e-12)  # monotone: no return swing


def test_a_target_a_round_off_away_is_reached_not_a_ruckig_crash():
    # Seen in a recording: ruckig's step-2 synchronisation raised on a 3e-11 rad displacement at rest.
    q = np.array([0.1735198641729331, 0.3357836953030279, -0.2247134325685402, -2.640337259729422,
                  0.4034374070979611, 2.953486347077306, 1.684557528442044])
    traj = JointTrajectory(TrajectoryConfig(), q)
    traj._inp.current_velocity = [1.785244162050339e-12, 3.240863809515696e-21, 3.261596959590822e-24,
                                  -5.740958748284946e-20, -3.858308892222351e-20, 1.32554204747034e-20,
                                  -1.423282384582718e-20]
    target = q.copy()
    target[0], target[2] = 0.1735198642012294, -0.2247134325685401
    traj.set_target(target)
    sample = traj.step()
    assert traj.done
    np.testing.assert_allclose(sample.q_rad, target, atol=1e-12)
    assert not np.any(sample.dq_radps)
