"""The `Robot` interface: what the controllers need from a body, simulated or real."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import MessageError
from hvla.core.messages import Observation, _array


@dataclass(frozen=True)
class JointLimits:
    """Per-joint bounds of the arm (7 joints)."""

    q_min_rad: NDArray[np.float64]
    q_max_rad: NDArray[np.float64]
    dq_max_radps: NDArray[np.float64]
    ddq_max_radps2: NDArray[np.float64]
    dddq_max_radps3: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("q_min_rad", "q_max_rad", "dq_max_radps", "ddq_max_radps2", "dddq_max_radps3"):
            object.__setattr__(self, name, _array(name, getattr(self, name), (7,)))
        if np.any(self.q_min_rad >= self.q_max_rad):
            raise MessageError("q_min_rad must be below q_max_rad for every joint")

    @classmethod
    def panda(cls) -> JointLimits:
        from hvla.core import panda

        return cls(panda.Q_MIN_RAD, panda.Q_MAX_RAD, panda.DQ_MAX_RADPS, panda.DDQ_MAX_RADPS2, panda.DDDQ_MAX_RADPS3)


@dataclass(frozen=True)
class JointCommand:
    """A position setpoint for one control period. The robot's joint impedance tracks it."""

    q_rad: NDArray[np.float64]  # (7,)
    dq_radps: NDArray[np.float64]  # (7,) feed-forward velocity
    gripper_m: float  # desired finger opening [m]; the fingers squeeze with limited force

    def __post_init__(self) -> None:
        object.__setattr__(self, "q_rad", _array("q_rad", self.q_rad, (7,)))
        object.__setattr__(self, "dq_radps", _array("dq_radps", self.dq_radps, (7,)))
        if not np.isfinite(self.gripper_m):
            raise MessageError("gripper_m is NaN or inf")


class Robot(Protocol):
    """A body that can be observed and commanded once per control period."""

    control_dt_s: float
    limits: JointLimits

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        """Current state; `cameras` picks which views to render (None = all, () = none)."""
        ...

    def command(self, cmd: JointCommand) -> None:
        """Apply `cmd` and return one control period later (simulated: stepped; real: waited)."""
        ...
