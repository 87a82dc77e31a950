"""Limit-respecting motion at the safety layer: category-1 stops and the command filter.

A stop that jumps to zero velocity is not a stop a Franka accepts: from 1 rad/s in one 2 ms period it
is ~37x the acceleration limit, and the FCI aborts on the discontinuity. `HardLimitMotion` keeps the
state (q, dq, ddq) of the command stream actually sent and continues it with ruckig at a fraction of
the *hard* limits: `brake` is the time-optimal, jerk-limited deceleration to rest (velocity interface,
phase-synchronised so the joints stop together along the path they were on), `track` is one step
toward a requested command that the limits do not allow in one period.

`limit_ratios` measures a command stream the way the FCI does (finite differences of the commanded
positions), so a test or a benchmark can check any stream against the limits, stops included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruckig
from numpy.typing import ArrayLike, NDArray

from hvla.core import panda
from hvla.core.errors import ConfigError, SafetyError

FloatArray = NDArray[np.float64]
_REST_RADPS = 1e-6  # below this every joint counts as stopped (ruckig ends with round-off velocities)


@dataclass(frozen=True)
class LimitRatios:
    """The largest |derivative| / hard limit over a command stream, per derivative (<= 1: within)."""

    velocity: float
    acceleration: float
    jerk: float

    @property
    def worst(self) -> float:
        return max(self.velocity, self.acceleration, self.jerk)

    def merge(self, other: LimitRatios) -> LimitRatios:
        return LimitRatios(max(self.velocity, other.velocity), max(self.acceleration, other.acceleration),
                           max(self.jerk, other.jerk))


ZERO_RATIOS = LimitRatios(0.0, 0.0, 0.0)


def limit_ratios(q_rad: ArrayLike, dt_s: float, dq_radps: ArrayLike | None = None) -> LimitRatios:
    """Velocity, acceleration and jerk of the positions `q_rad` (N, 7), commanded `dt_s` apart, over the
    Panda's hard limits, by backward finite differences (as the FCI derives them). The feed-forward
    velocities `dq_radps` (N, 7), when given, count toward the velocity ratio too."""
    q = np.asarray(q_rad, dtype=float).reshape(-1, 7)
    ratios = []
    for order, limit in ((1, panda.DQ_MAX_RADPS), (2, panda.DDQ_MAX_RADPS2), (3, panda.DDDQ_MAX_RADPS3)):
        d = np.diff(q, n=order, axis=0) / dt_s**order if len(q) > order else np.zeros((0, 7))
        ratios.append(float(np.max(np.abs(d) / limit)) if len(d) else 0.0)
    if dq_radps is not None:
        dq = np.asarray(dq_radps, dtype=float).reshape(-1, 7)
        ratios[0] = max(ratios[0], float(np.max(np.abs(dq) / panda.DQ_MAX_RADPS)) if len(dq) else 0.0)
    return LimitRatios(*ratios)


class HardLimitMotion:
    """The sent command stream's state, continued within `fraction` of the hard limits by ruckig."""

    def __init__(self, dt_s: float, fraction: float = 0.9) -> None:
        if not 0 < fraction <= 1:
            raise ConfigError(f"fraction={fraction} of the hard limits must be in (0, 1]")
        self.dt_s = dt_s
        self.fraction = fraction
        self._otg = ruckig.Ruckig(7, dt_s)
        self._inp = ruckig.InputParameter(7)
        self._out = ruckig.OutputParameter(7)
        self._inp.max_velocity = (fraction * panda.DQ_MAX_RADPS).tolist()
        self._inp.max_acceleration = (fraction * panda.DDQ_MAX_RADPS2).tolist()
        self._inp.max_jerk = (fraction * panda.DDDQ_MAX_RADPS3).tolist()
        self._inp.target_acceleration = [0.0] * 7
        self.q = np.zeros(7)
        self.dq = np.zeros(7)
        self.ddq = np.zeros(7)

    def set_state(self, q_rad: ArrayLike, dq_radps: ArrayLike, ddq_radps2: ArrayLike) -> None:
        """The state of the command just sent (by whoever produced it)."""
        self.q, self.dq, self.ddq = (np.array(x, dtype=float) for x in (q_rad, dq_radps, ddq_radps2))

    @property
    def at_rest(self) -> bool:
        return bool(np.abs(self.dq).max() < _REST_RADPS and np.abs(self.ddq).max() < _REST_RADPS / self.dt_s)

    def brake(self) -> tuple[FloatArray, FloatArray]:
        """The next sample of the fastest jerk-limited stop from the current state; at rest, a hold."""
        if self.at_rest:
            self.dq, self.ddq = np.zeros(7), np.zeros(7)
            return self.q.copy(), self.dq.copy()
        self._inp.control_interface = ruckig.ControlInterface.Velocity
        self._inp.synchronization = ruckig.Synchronization.Phase  # falls back to Time when not collinear
        self._inp.target_velocity = [0.0] * 7
        return self._update("brake")

    def track(self, q_rad: ArrayLike, dq_radps: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """One step toward the command (q, dq) as fast as the limits allow from the current state."""
        vmax = self.fraction * panda.DQ_MAX_RADPS
        self._inp.control_interface = ruckig.ControlInterface.Position
        self._inp.synchronization = ruckig.Synchronization.No  # each joint as close to its command as it can
        self._inp.target_position = np.asarray(q_rad, dtype=float).tolist()
        self._inp.target_velocity = np.clip(np.asarray(dq_radps, dtype=float), -vmax, vmax).tolist()
        return self._update("track")

    def _update(self, what: str) -> tuple[FloatArray, FloatArray]:
        self._inp.current_position = self.q.tolist()
        self._inp.current_velocity = self.dq.tolist()
        # A state estimated from a command stream may carry more acceleration than the fraction allows;
        # ruckig then first brakes it with the jerk limit, which keeps the stream within the hard limits.
        self._inp.current_acceleration = self.ddq.tolist()
        try:
            result = self._otg.update(self._inp, self._out)
        except ruckig.RuckigError as err:
            raise SafetyError(f"could not {what} within the hard limits: {err}") from err
        if result not in (ruckig.Result.Working, ruckig.Result.Finished):
            raise SafetyError(f"could not {what} within the hard limits ({result})")
        self.q = np.array(self._out.new_position)
        self.dq = np.array(self._out.new_velocity)
        self.ddq = np.array(self._out.new_acceleration)
        return self.q.copy(), self.dq.copy()
