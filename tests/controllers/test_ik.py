import numpy as np
import pytest

from hvla.controllers.ik import IkConfig, IkSolver
from hvla.controllers.transforms import matrix_to_pose, pose_error
from hvla.core import panda
from hvla.core.errors import ConfigError, MessageError, UnreachableError


@pytest.fixture(scope="module")
def solver(model):
    return IkSolver(model)


def test_fifty_random_reachable_poses_from_the_ready_pose(solver, model):
    rng = np.random.default_rng(42)
    lo, hi = model.command_limits()
    for _ in range(50):
        T = model.fk(model.random_q(rng))
        q = solver.solve(T, panda.Q_READY_RAD)
        err_m, err_rad = pose_error(model.fk(q), T)
        assert err_m < 1e-3 and err_rad < 0.01
        assert np.all(q >= lo - 1e-12) and np.all(q <= hi + 1e-12)  # commandable: inside the margin


def test_warm_start_converges_in_a_few_full_steps(solver, model):
    rng = np.random.default_rng(7)
    iterations = []
    for _ in range(30):
        q_true = np.clip(panda.Q_READY_RAD + rng.normal(0, 0.3, 7), *model.command_limits())
        seed = q_true + rng.normal(0, 0.05, 7)
        res = solver.solve_with_info(model.fk(q_true), seed)
        assert res.residual_m <= 5e-4 and res.residual_rad <= 5e-3
        iterations.append(res.iterations)
    assert np.median(iterations) <= 4


def test_accepts_position_plus_wxyz_quaternion(solver, model):
    T = model.fk(panda.Q_READY_RAD + 0.1)
    q = solver.solve(matrix_to_pose(T), panda.Q_READY_RAD)
    err_m, err_rad = pose_error(model.fk(q), T)
    assert err_m < 1e-3 and err_rad < 0.01


def test_far_target_raises_unreachable_naming_the_target(solver):
    target = np.array([3.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0])
    with pytest.raises(UnreachableError, match=r"target \[3\.0, 0\.0, 0\.5") as info:
        solver.solve(target, panda.Q_READY_RAD)
    np.testing.assert_allclose(info.value.target, target)
    assert info.value.residual_m > 1.5


def test_unreachable_orientation_within_reach_raises(solver):
    # Inside the base, pointing up: within the reach bound, so the solver must iterate and give up.
    with pytest.raises(UnreachableError) as info:
        solver.solve([0.0, 0.0, 0.05, 1.0, 0.0, 0.0, 0.0], panda.Q_READY_RAD)
    assert info.value.residual_m > 5e-4 or info.value.residual_rad > 5e-3


@pytest.mark.parametrize(
    "target",
    [
        [0.5, 0.0, np.nan, 0.0, 1.0, 0.0, 0.0],
        np.full((4, 4), np.nan),
    ],
)
def test_nan_target_raises_instead_of_returning_a_pose(solver, target):
    with pytest.raises(MessageError, match="NaN"):
        solver.solve(target, panda.Q_READY_RAD)


def test_nan_seed_raises(solver, model):
    with pytest.raises(MessageError):
        solver.solve(model.fk(panda.Q_READY_RAD), np.full(7, np.nan))


@pytest.mark.parametrize(
    "kwargs", [{"damping": 0.0}, {"max_iters": 0}, {"tol_pos_m": -1.0}, {"restarts": -1}, {"q_nominal_rad": (0.0,)}]
)
def test_invalid_config_raises(kwargs):
    with pytest.raises(ConfigError):
        IkConfig(**kwargs)
