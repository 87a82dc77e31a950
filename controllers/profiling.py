"""Timing helpers for `benchmarks/control.py`: each returns raw per-call samples, no printing.

Kept here, next to the code they time, so a benchmark script only formats tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.controllers.cartesian import CartesianController
from hvla.controllers.ik import IkSolver
from hvla.controllers.kinematic_robot import KinematicRobot
from hvla.controllers.robot_model import PandaModel
from hvla.controllers.safety import SafetyLayer
from hvla.controllers.trajectory import JointTrajectory
from hvla.controllers.transforms import matrix_to_pose
from hvla.core import panda
from hvla.core.errors import UnreachableError
from hvla.core.messages import ActionChunk
from hvla.core.robot import JointCommand

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class IkStats:
    """Per-solve samples of `time_ik` (failed solves are counted, not timed)."""

    times_s: FloatArray  # (n_ok,)
    iterations: NDArray[np.int64]  # (n_ok,)
    attempts: NDArray[np.int64]  # (n_ok,) 1 = the warm start converged
    failures: int


def _time_calls(fn: Callable[[int], object], n: int) -> FloatArray:
    times = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times[i] = time.perf_counter() - t0
    return times


def random_configurations(n: int, seed: int = 0, model: PandaModel | None = None) -> FloatArray:
    """(n, 7) configurations uniform inside the command limits."""
    model = model or PandaModel()
    rng = np.random.default_rng(seed)
    return np.stack([model.random_q(rng) for _ in range(n)])


def time_fk(n: int = 2000, seed: int = 0) -> FloatArray:
    """Seconds per `PandaModel.fk` call."""
    model = PandaModel()
    qs = random_configurations(n, seed, model)
    return _time_calls(lambda i: model.fk(qs[i]), n)


def time_jacobian(n: int = 2000, seed: int = 0) -> FloatArray:
    """Seconds per `PandaModel.jacobian` call."""
    model = PandaModel()
    qs = random_configurations(n, seed, model)
    return _time_calls(lambda i: model.jacobian(qs[i]), n)


def time_ik(n: int = 200, seed: int = 0, seed_noise_rad: float | None = 0.05) -> IkStats:
    """IK on targets made by FK of random configurations.

    `seed_noise_rad`: the solver starts from the true configuration plus this much noise (the
    warm-started case of chunk following); None starts every solve from `Q_READY_RAD` instead.
    """
    solver = IkSolver()
    rng = np.random.default_rng(seed)
    lo, hi = solver.model.command_limits()
    times, iters, attempts, failures = [], [], [], 0
    for _ in range(n):
        q_true = solver.model.random_q(rng)
        T = solver.model.fk(q_true)
        q0 = panda.Q_READY_RAD if seed_noise_rad is None else np.clip(q_true + rng.normal(0, seed_noise_rad, 7), lo, hi)
        t0 = time.perf_counter()
        try:
            res = solver.solve_with_info(T, q0)
        except UnreachableError:
            failures += 1
            continue
        times.append(time.perf_counter() - t0)
        iters.append(res.iterations)
        attempts.append(res.attempts)
    return IkStats(np.array(times), np.array(iters, dtype=np.int64), np.array(attempts, dtype=np.int64), failures)


def time_trajectory_step(n: int = 5000, seed: int = 0) -> FloatArray:
    """Seconds per `JointTrajectory.step` (one ruckig update), with a new target every 50 steps."""
    traj = JointTrajectory()
    qs = random_configurations(n // 50 + 1, seed)

    def step(i: int) -> None:
        if i % 50 == 0:
            traj.set_target(qs[i // 50])
        traj.step()

    return _time_calls(step, n)


def time_safety_check(n: int = 2000) -> FloatArray:
    """Seconds per `SafetyLayer.check` on small steps around the ready pose."""
    safety = SafetyLayer()
    q = panda.Q_READY_RAD.copy()
    cmds = [JointCommand(q + 1e-4 * np.sin(i + np.arange(7)), np.zeros(7), 0.04) for i in range(n)]
    return _time_calls(lambda i: safety.check(cmds[i], q, 0.002), n)


def time_follow(n_chunks: int = 5, k: int = 10, seed: int = 0) -> FloatArray:
    """Seconds per control period of `CartesianController.follow` on a perfect kinematic robot."""
    ctl = CartesianController()
    robot = KinematicRobot(model=ctl.model, record=False)
    rng = np.random.default_rng(seed)
    per_step = []
    for _ in range(n_chunks):
        start = matrix_to_pose(ctl.model.fk(robot.q_rad))
        goal = start.copy()
        goal[:3] = rng.uniform([0.35, -0.2, 0.2], [0.6, 0.2, 0.5])
        targets = np.array([start + (goal - start) * (j + 1) / k for j in range(k)])
        targets[:, 3:] = start[3:]  # keep the hand orientation
        t0 = time.perf_counter()
        result = ctl.follow(ActionChunk(targets, np.full(k, 0.04), dt_s=0.1), robot)
        per_step.append((time.perf_counter() - t0) / max(result.steps, 1))
    return np.array(per_step)
