"""The Franka Panda's description and published limits, shared by the simulator and the controllers.

Limits are from Franka's FCI documentation. They are hard bounds: the safety layer rejects commands
beyond them; trajectory generation plans with a fraction of them.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np

from hvla.core.errors import ConfigError

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
TCP_FRAME = "panda_hand_tcp"

Q_MIN_RAD = np.array([-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973])
Q_MAX_RAD = np.array([2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])
DQ_MAX_RADPS = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
DDQ_MAX_RADPS2 = np.array([15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0])
DDDQ_MAX_RADPS3 = np.array([7500.0, 3750.0, 5000.0, 6250.0, 7500.0, 10000.0, 10000.0])
EE_SPEED_MAX_MPS = 1.7
EE_ACC_MAX_MPS2 = 13.0
COMMAND_MARGIN_RAD = 0.1  # commanded positions stay this far inside the joint limits
GRIPPER_MAX_M = 0.08  # full opening between the fingers

# A comfortable ready pose: elbow up, hand pointing down, fingers along world y.
Q_READY_RAD = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 1.9, np.pi / 4])


def description_root() -> Path:
    """Folder that holds `example-robot-data/robots/...`, as installed by the example-robot-data wheel."""
    for base in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]):
        root = Path(base) / "cmeel.prefix" / "share"
        if (root / "example-robot-data").is_dir():
            return root
    raise ConfigError("example-robot-data is not installed: run `make test` or `pip install example-robot-data`")


def panda_urdf_path() -> Path:
    return description_root() / "example-robot-data" / "robots" / "panda_description" / "urdf" / "panda.urdf"
