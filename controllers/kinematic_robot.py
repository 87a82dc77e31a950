"""A perfect kinematic Robot: each command is reached exactly in one control period.

For tests, benchmarks and examples that exercise the controllers without physics: if the
arm misses a target here, the fault is in the controllers, not in tracking or contact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from hvla.controllers.robot_model import PandaModel
from hvla.core import panda
from hvla.core.messages import Observation, Proprio
from hvla.core.robot import JointCommand, JointLimits


class KinematicRobot:
    """Implements `hvla.core.robot.Robot`; also keeps every command it received in `commands`."""

    def __init__(
        self, q0_rad: ArrayLike | None = None, control_dt_s: float = 0.002, model: PandaModel | None = None,
        record: bool = True,
    ) -> None:
        self.model = model or PandaModel()
        self.control_dt_s = control_dt_s
        self.limits = JointLimits.panda()
        self.q_rad = np.array(panda.Q_READY_RAD if q0_rad is None else q0_rad, dtype=float)
        self.dq_radps = np.zeros(7)
        self.gripper_m = panda.GRIPPER_MAX_M
        self.t_s = 0.0
        self.record = record
        self.commands: list[JointCommand] = []

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        proprio = Proprio(self.q_rad, self.dq_radps, self.gripper_m, self.model.fk(self.q_rad))
        return Observation(t_s=self.t_s, proprio=proprio)

    def command(self, cmd: JointCommand) -> None:
        self.dq_radps = (cmd.q_rad - self.q_rad) / self.control_dt_s
        self.q_rad = np.array(cmd.q_rad)
        self.gripper_m = float(np.clip(cmd.gripper_m, 0.0, panda.GRIPPER_MAX_M))
        self.t_s += self.control_dt_s
        if self.record:
            self.commands.append(cmd)
