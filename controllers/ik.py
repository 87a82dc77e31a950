"""Inverse kinematics: damped least squares on the SE(3) log error, with a posture term.

Full Gauss-Newton steps (step size 1) with the `Jlog6`-corrected Jacobian converge in 3-4
iterations from a nearby seed; the tutorial's step of 0.1 needs ~87. Joint limits (minus the
command margin) are enforced every iteration, so every returned solution is commandable as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pinocchio as pin
from numpy.typing import ArrayLike, NDArray

from hvla.controllers.robot_model import PandaModel
from hvla.controllers.transforms import as_pose_matrix, matrix_to_pose
from hvla.core import panda
from hvla.core.errors import ConfigError, UnreachableError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class IkConfig:
    """Solver settings. Tolerances are on the TCP pose; the posture pulls toward `q_nominal_rad`."""

    damping: float = 1e-6  # Levenberg term added to J J^T; grows with the error (see _step)
    max_iters: int = 60  # per attempt
    tol_pos_m: float = 5e-4
    tol_rot_rad: float = 5e-3
    posture_weight: float = 0.1  # fraction of the posture error corrected per iteration, in null space
    margin_rad: float = panda.COMMAND_MARGIN_RAD
    max_step_rad: float = 0.5  # largest joint change per iteration: keeps far-from-solution steps sane
    restarts: int = 16  # random seeds tried after the warm start and the nominal posture fail
    seed: int = 0  # of the restart generator, so a failure reproduces
    q_nominal_rad: tuple[float, ...] = tuple(panda.Q_READY_RAD.tolist())

    def __post_init__(self) -> None:
        if not self.damping > 0:
            raise ConfigError(f"damping={self.damping} must be > 0")
        if self.max_iters < 1:
            raise ConfigError(f"max_iters={self.max_iters} must be >= 1")
        if not (self.tol_pos_m > 0 and self.tol_rot_rad > 0):
            raise ConfigError(f"tolerances ({self.tol_pos_m} m, {self.tol_rot_rad} rad) must be > 0")
        if not 0 <= self.posture_weight <= 1:
            raise ConfigError(f"posture_weight={self.posture_weight} must be in [0, 1]")
        if not 0 <= self.margin_rad < 0.5:
            raise ConfigError(f"margin_rad={self.margin_rad} must be in [0, 0.5)")
        if not self.max_step_rad > 0:
            raise ConfigError(f"max_step_rad={self.max_step_rad} must be > 0")
        if self.restarts < 0:
            raise ConfigError(f"restarts={self.restarts} must be >= 0")
        if len(self.q_nominal_rad) != 7 or not np.isfinite(self.q_nominal_rad).all():
            raise ConfigError(f"q_nominal_rad={self.q_nominal_rad} must be 7 finite angles")


@dataclass(frozen=True)
class IkResult:
    """A solution and how it was found (for benchmarks and debugging)."""

    q_rad: FloatArray  # (7,)
    iterations: int  # total over all attempts
    attempts: int  # 1 = the warm start converged
    residual_m: float
    residual_rad: float


class IkSolver:
    """Solves TCP pose -> joint angles for one `PandaModel` (not thread-safe, like the model)."""

    def __init__(self, model: PandaModel | None = None, config: IkConfig | None = None) -> None:
        self.model = model or PandaModel()
        self.config = config or IkConfig()
        self.q_lo, self.q_hi = self.model.command_limits(self.config.margin_rad)
        self.q_nominal = np.clip(np.array(self.config.q_nominal_rad), self.q_lo, self.q_hi)
        self._rng = np.random.default_rng(self.config.seed)

    def solve(self, T_world_target: ArrayLike, q0_rad: ArrayLike, restarts: int | None = None) -> FloatArray:
        """Joint angles placing the TCP at `T_world_target` ((4, 4) or (7,) xyz + quat wxyz).

        `restarts` overrides the configured number of random restarts (0: warm start and nominal
        posture only, for tracking where a far-away solution would be rejected anyway).

        Raises:
            MessageError: the target or seed is malformed (wrong shape, NaN, non-unit quaternion).
            UnreachableError: no attempt got within tolerance; carries the best residual.
        """
        return self.solve_with_info(T_world_target, q0_rad, restarts).q_rad

    def solve_with_info(self, T_world_target: ArrayLike, q0_rad: ArrayLike, restarts: int | None = None) -> IkResult:
        """Like `solve`, also reporting iterations, attempts and the residual."""
        T_world_target = as_pose_matrix(T_world_target, "IK target")
        q0 = np.clip(self.model.check_q(q0_rad), self.q_lo, self.q_hi)
        target_pose = matrix_to_pose(T_world_target)
        self._reject_beyond_reach(T_world_target, target_pose)
        oMdes = pin.SE3(self.model.T_base_world @ T_world_target)

        best: tuple[FloatArray, float, float] | None = None
        iterations = 0
        n_random = self.config.restarts if restarts is None else restarts
        for attempt, seed in enumerate(self._seeds(q0, n_random), start=1):
            q, err_m, err_rad, n = self._descend(oMdes, seed)
            iterations += n
            if best is None or self._cost(err_m, err_rad) < self._cost(best[1], best[2]):
                best = (q, err_m, err_rad)
            if err_m <= self.config.tol_pos_m and err_rad <= self.config.tol_rot_rad:
                return IkResult(q, iterations, attempt, err_m, err_rad)
        assert best is not None  # at least one attempt always runs
        raise UnreachableError(target_pose, best[1], best[2])

    # --- internals --------------------------------------------------------------------------

    def _reject_beyond_reach(self, T_world_target: FloatArray, target_pose: FloatArray) -> None:
        """Fail fast for targets farther from the shoulder than any configuration reaches."""
        gap = np.linalg.norm(T_world_target[:3, 3] - self.model.shoulder_world_m) - self.model.max_reach_m
        if gap > 0:
            raise UnreachableError(target_pose, gap, float("nan"))

    def _seeds(self, q0: FloatArray, n_random: int) -> Iterator[FloatArray]:
        """Warm start, then the nominal posture, then random configurations."""
        yield q0
        if np.abs(q0 - self.q_nominal).max() > 1e-6:
            yield self.q_nominal
        for _ in range(n_random):
            yield self._rng.uniform(self.q_lo, self.q_hi)

    def _cost(self, err_m: float, err_rad: float) -> float:
        return err_m / self.config.tol_pos_m + err_rad / self.config.tol_rot_rad

    def _descend(self, oMdes: pin.SE3, q: FloatArray) -> tuple[FloatArray, float, float, int]:
        """One damped Gauss-Newton run from `q`; stops on convergence, stall or `max_iters`."""
        cfg, model, data, fid = self.config, self.model.model, self.model.data, self.model.tcp_frame_id
        q = q.copy()
        best_cost, stalled = np.inf, 0
        for it in range(1, cfg.max_iters + 1):
            pin.computeJointJacobians(model, data, q)  # also runs forward kinematics
            iMd = pin.updateFramePlacement(model, data, fid).actInv(oMdes)
            err = pin.log6(iMd).vector  # [linear; angular] in the TCP frame
            err_m, err_rad = float(np.linalg.norm(iMd.translation)), float(np.linalg.norm(err[3:]))
            if err_m <= cfg.tol_pos_m and err_rad <= cfg.tol_rot_rad:
                return q, err_m, err_rad, it
            cost = self._cost(err_m, err_rad)
            stalled = stalled + 1 if cost > 0.99 * best_cost else 0
            best_cost = min(best_cost, cost)
            if stalled >= 8:  # a local minimum or a joint limit holds it: restarting is cheaper
                break
            J = -pin.Jlog6(iMd.inverse()) @ pin.getFrameJacobian(model, data, fid, pin.LOCAL)
            dq = self._step(J, err, q, err_m)
            # A joint pinned at its limit and pushed outward would only be clipped back, so its
            # share of the step is lost; freeze it and redistribute the step over the others.
            pinned = ((q <= self.q_lo + 1e-9) & (dq < 0)) | ((q >= self.q_hi - 1e-9) & (dq > 0))
            if pinned.any():
                dq = self._step(J * ~pinned, err, q, err_m) * ~pinned
            q = np.clip(q + dq, self.q_lo, self.q_hi)
        return q, err_m, err_rad, it

    def _step(self, J: FloatArray, err: FloatArray, q: FloatArray, err_m: float) -> FloatArray:
        """DLS step toward the target plus a posture step projected into the task's null space."""
        cfg = self.config
        # Damping grows with the error: near a singularity or far from the target a pure
        # Gauss-Newton step explodes where J loses rank; close to the solution it stays tiny.
        lam = cfg.damping + 1e-2 * min(err_m, 1.0) ** 2
        J_pinv = np.linalg.solve(J @ J.T + lam * np.eye(6), J).T  # (7, 6) damped pseudo-inverse
        dq = -J_pinv @ err
        dq += (np.eye(7) - J_pinv @ J) @ (cfg.posture_weight * (self.q_nominal - q))
        largest = np.abs(dq).max()
        return dq * (cfg.max_step_rad / largest) if largest > cfg.max_step_rad else dq
