"""The Franka Panda's description and published limits, shared by the simulator and the controllers.

Limits are from Franka's FCI documentation. They are hard bounds: the safety layer rejects commands
beyond them; trajectory generation plans with a fraction of them.
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path, PurePosixPath

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


# Where the wheel puts the Panda, relative to the folder `package://` URLs resolve against.
_PANDA_URDF = PurePosixPath("example-robot-data/robots/panda_description/urdf/panda.urdf")


@functools.cache
def description_root() -> Path:
    """Folder that holds `example-robot-data/robots/...`, read from the installed distribution's own file list.

    The distribution's RECORD says where its files are, whichever environment hvla runs in (a
    `sysconfig` path of the running interpreter is wrong for any other venv or a `--target` install).

    Raises:
        ConfigError: when example-robot-data is not installed or its files hold no Panda URDF.
    """
    hint = "run `make test` or `pip install example-robot-data`"
    try:
        dist = importlib.metadata.distribution("example-robot-data")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"example-robot-data is not installed: {hint}") from None
    depth = len(_PANDA_URDF.parts)
    for file in dist.files or ():
        if PurePosixPath(file).parts[-depth:] == _PANDA_URDF.parts:
            urdf = Path(dist.locate_file(file))
            if urdf.is_file():
                return urdf.parents[depth - 1]
    raise ConfigError(f"example-robot-data {dist.version} lists no readable {_PANDA_URDF}: reinstall it ({hint})")


def panda_urdf_path() -> Path:
    return description_root() / _PANDA_URDF
