"""Online jerk-limited joint trajectories (ruckig), sampled once per control period.

A new target may arrive at any tick: ruckig replans from the current position, velocity and
acceleration, so the stream of samples stays continuous in acceleration and within the scaled
velocity, acceleration and jerk limits however often the target changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruckig
from numpy.typing import ArrayLike, NDArray

from hvla.core import panda
from hvla.core.errors import ConfigError, MessageError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TrajectoryConfig:
    """Control period and the fractions of the Panda's hard limits that trajectories may use.

    MoveIt's Panda configuration plans with 25% of the acceleration limits; we do the same.
    """

    control_dt_s: float = 0.002
    velocity_scale: float = 0.5
    acceleration_scale: float = 0.25
    jerk_scale: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.control_dt_s <= 0.1:
            raise ConfigError(f"control_dt_s={self.control_dt_s} must be in (0, 0.1]")
        for name in ("velocity_scale", "acceleration_scale", "jerk_scale"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"{name}={value} must be in (0, 1]: the hard limits are never exceeded")

    @property
    def max_velocity_radps(self) -> FloatArray:
        return self.velocity_scale * panda.DQ_MAX_RADPS

    @property
    def max_acceleration_radps2(self) -> FloatArray:
        return self.acceleration_scale * panda.DDQ_MAX_RADPS2

    @property
    def max_jerk_radps3(self) -> FloatArray:
        return self.jerk_scale * panda.DDDQ_MAX_RADPS3


@dataclass(frozen=True)
class TrajectorySample:
    """The commanded state for one control tick."""

    q_rad: FloatArray  # (7,)
    dq_radps: FloatArray  # (7,)
    ddq_radps2: FloatArray  # (7,)


def _vec7(name: str, value: ArrayLike) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (7,):
        raise MessageError(f"{name} has shape {arr.shape}, expected (7,)")
    if not np.isfinite(arr).all():
        raise MessageError(f"{name} holds NaN or inf: {arr.tolist()}")
    return arr.copy()


class JointTrajectory:
    """Holds the ruckig state of the 7 joints and streams samples toward the latest target."""

    def __init__(self, config: TrajectoryConfig | None = None, q0_rad: ArrayLike | None = None) -> None:
        self.config = config or TrajectoryConfig()
        self._otg = ruckig.Ruckig(7, self.config.control_dt_s)
        self._inp = ruckig.InputParameter(7)
        self._out = ruckig.OutputParameter(7)
        self._scratch = ruckig.Trajectory(7)  # for comparing candidate plans before committing to one
        self._inp.max_velocity = self.config.max_velocity_radps.tolist()
        self._inp.max_acceleration = self.config.max_acceleration_radps2.tolist()
        self._inp.max_jerk = self.config.max_jerk_radps3.tolist()
        self._done = True
        self.reset(panda.Q_READY_RAD if q0_rad is None else q0_rad)

    def reset(self, q_rad: ArrayLike, dq_radps: ArrayLike | None = None, ddq_radps2: ArrayLike | None = None) -> None:
        """Start from a measured state: at rest it stays there; moving, it brakes to a stop."""
        q = _vec7("q_rad", q_rad)
        dq = np.zeros(7) if dq_radps is None else _vec7("dq_radps", dq_radps)
        ddq = np.zeros(7) if ddq_radps2 is None else _vec7("ddq_radps2", ddq_radps2)
        # A measured state beyond the planning limits is clipped: ruckig would otherwise first
        # brake with full jerk, and the samples would violate the limits they promise.
        dq = np.clip(dq, -self.config.max_velocity_radps, self.config.max_velocity_radps)
        ddq = np.clip(ddq, -self.config.max_acceleration_radps2, self.config.max_acceleration_radps2)
        self._inp.current_position, self._inp.current_velocity = q.tolist(), dq.tolist()
        self._inp.current_acceleration = ddq.tolist()
        self.set_target(q)
        if np.any(dq) or np.any(ddq):
            self.stop()  # returning to `q` would mean overshooting it and coming back
        else:
            self._done = True

    def set_target(
        self, q_rad: ArrayLike, dq_radps: ArrayLike | None = None, min_duration_s: float = 0.0
    ) -> None:
        """New target position (and velocity to pass it with), effective from the next `step`.

        `min_duration_s` stretches the motion to last at least that long: following a chunk, it
        keeps the trajectory on the chunk's schedule instead of rushing and waiting.
        """
        q = _vec7("target q_rad", q_rad)
        dq = np.zeros(7) if dq_radps is None else _vec7("target dq_radps", dq_radps)
        vmax = self.config.max_velocity_radps
        self._inp.target_position = q.tolist()
        self._inp.target_acceleration = [0.0] * 7
        self._inp.minimum_duration = float(min_duration_s) if min_duration_s > 0 else None
        self._inp.control_interface = ruckig.ControlInterface.Position
        self._inp.target_velocity = [0.0] * 7
        if np.any(dq):
            # A pass-through velocity should make the motion smoother and quicker. When the state
            # cannot build it up in time, ruckig swings back and forth instead (many times slower):
            # then arriving at rest is the better plan.
            at_rest_s = self._duration()
            self._inp.target_velocity = np.clip(dq, -vmax, vmax).tolist()
            if self._duration() > at_rest_s:
                self._inp.target_velocity = [0.0] * 7
        self._done = False

    def _duration(self) -> float:
        """Duration [s] of the trajectory the current input describes (inf if ruckig has none)."""
        try:
            result = self._otg.calculate(self._inp, self._scratch)
        except ruckig.RuckigError:
            return np.inf
        return self._scratch.duration if result in (ruckig.Result.Working, ruckig.Result.Finished) else np.inf

    def stop(self) -> None:
        """Brake to zero velocity as fast as the limits allow, wherever that ends."""
        self._inp.control_interface = ruckig.ControlInterface.Velocity
        self._inp.target_velocity = [0.0] * 7
        self._inp.target_acceleration = [0.0] * 7
        self._inp.minimum_duration = None
        self._done = False

    def step(self) -> TrajectorySample:
        """Advance one control period and return the new commanded state."""
        if self._done:
            if self._at_rest():
                return self.sample()
            # Reached a target that is passed with a velocity, and no new target came: ruckig
            # would coast on (or turn back); braking to a stop is the safe continuation.
            self.stop()
        try:
            result = self._otg.update(self._inp, self._out)
        except ruckig.RuckigError as err:
            if self._within_round_off():
                return self._arrive()
            raise MessageError(f"ruckig could not plan to the target: {err}") from err
        if result not in (ruckig.Result.Working, ruckig.Result.Finished):
            raise MessageError(f"ruckig could not plan to the target ({result}); input:\n{self._inp}")
        self._out.pass_to_input(self._inp)
        self._done = result == ruckig.Result.Finished
        return self.sample()

    def _within_round_off(self) -> bool:
        """At rest with the target a round-off away: ruckig's step-2 synchronisation can fail on a
        displacement of 1e-11 rad (seen while a minimum duration was set); that target is reached."""
        if self._inp.control_interface != ruckig.ControlInterface.Position:
            return False
        gap = np.abs(np.subtract(self._inp.target_position, self._inp.current_position)).max()
        return bool(gap < 1e-8 and np.abs(self._inp.target_velocity).max() < 1e-9
                    and np.abs(self._inp.current_velocity).max() < 1e-6
                    and np.abs(self._inp.current_acceleration).max() < 1e-6)

    def _arrive(self) -> TrajectorySample:
        self._inp.current_position = list(self._inp.target_position)
        self._inp.current_velocity = [0.0] * 7
        self._inp.current_acceleration = [0.0] * 7
        self._done = True
        return self.sample()

    def _at_rest(self) -> bool:
        # Ruckig ends a motion with round-off velocities (~1e-16); those count as rest.
        return bool(
            np.abs(self._inp.current_velocity).max() < 1e-9
            and np.abs(self._inp.current_acceleration).max() < 1e-9
        )

    def sample(self) -> TrajectorySample:
        """The current commanded state, without advancing."""
        return TrajectorySample(
            np.array(self._inp.current_position),
            np.array(self._inp.current_velocity),
            np.array(self._inp.current_acceleration),
        )

    @property
    def done(self) -> bool:
        """True once the current target state has been reached."""
        return self._done

    @property
    def target_q_rad(self) -> FloatArray:
        return np.array(self._inp.target_position)
