"""The Franka Panda as a MuJoCo spec, loaded from the same URDF pinocchio reads.

MuJoCo reads the URDF's kinematics and inertias unchanged, so the simulated TCP and pinocchio's
`panda_hand_tcp` agree. What the URDF lacks we add here: actuators (joint impedance with the gains of
Franka's own examples), gravity compensation (the real FCI compensates gravity), the mimic finger
as an equality constraint, and a TCP site.
"""

from __future__ import annotations

import re

import mujoco
import numpy as np

from hvla.core import panda

# Joint stiffness [Nm/rad] and damping [Nms/rad]: franka_ros' joint impedance example gains.
ARM_KP = np.array([600.0, 600.0, 600.0, 600.0, 250.0, 150.0, 50.0]) * 4.0
ARM_KD = 2.0 * np.sqrt(ARM_KP) * np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.5, 0.3])
ARM_TORQUE_MAX_NM = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])
FINGER_KP = 3000.0  # N/m per finger; force is capped at the gripper's continuous 70 N
FINGER_FORCE_MAX_N = 70.0
TCP_SITE = "tcp"
HAND_BODY = "panda_hand"

_MUJOCO_EXT = (
    '<mujoco><compiler fusestatic="false" discardvisual="true" balanceinertia="true" '
    'angle="radian"/></mujoco>'
)


def _urdf_for_mujoco() -> str:
    """URDF text with absolute STL mesh paths (MuJoCo reads no Collada, nor `package://`)."""
    text = panda.panda_urdf_path().read_text()
    root = panda.description_root()
    text = text.replace("package://", f"{root}/")
    text = re.sub(r"meshes/visual/(\w+)\.dae", r"meshes/collision/\1.stl", text)
    return re.sub(r"(<robot[^>]*>)", r"\1" + _MUJOCO_EXT, text, count=1)


def build_panda_spec() -> mujoco.MjSpec:
    """A spec with the arm (7 joints), two fingers, actuators and the `tcp` site."""
    spec = mujoco.MjSpec.from_string(_urdf_for_mujoco())
    spec.compiler.degree = False
    spec.compiler.discardvisual = False  # the URDF's visuals are gone already; keep our markers
    for geom in spec.geoms:
        dark = geom.parent.name in ("panda_hand", "panda_leftfinger", "panda_rightfinger", "panda_link7")
        geom.rgba = [0.25, 0.25, 0.27, 1.0] if dark else [0.93, 0.93, 0.95, 1.0]
    for i, name in enumerate(panda.ARM_JOINTS):
        joint = spec.joint(name)
        joint.armature = 0.1
        joint.damping = [1.0, 0.0, 0.0]
        act = spec.add_actuator(name=f"act_{name}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=ARM_KP[i], kv=ARM_KD[i])
        act.ctrlrange = [panda.Q_MIN_RAD[i], panda.Q_MAX_RAD[i]]
        act.forcerange = [-ARM_TORQUE_MAX_NM[i], ARM_TORQUE_MAX_NM[i]]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for body in spec.bodies:
        if body.name.startswith("panda_"):
            body.gravcomp = 1.0
    _add_gripper(spec)
    hand = spec.body(HAND_BODY)
    hand.add_site(name=TCP_SITE, pos=[0.0, 0.0, 0.1034], size=[0.004, 0, 0], rgba=[1, 0, 0, 0.0])
    return spec


def _add_gripper(spec: mujoco.MjSpec) -> None:
    """Parallel gripper: finger 2 mirrors finger 1; one force-limited position actuator drives both."""
    for name in panda.FINGER_JOINTS:
        joint = spec.joint(name)
        joint.armature = 0.01
        joint.damping = [10.0, 0.0, 0.0]
    spec.add_equality(
        type=mujoco.mjtEq.mjEQ_JOINT,
        name1=panda.FINGER_JOINTS[1],
        name2=panda.FINGER_JOINTS[0],
        data=np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float),
        solref=[0.005, 1.0],
    )
    act = spec.add_actuator(
        name="act_fingers", target=panda.FINGER_JOINTS[0], trntype=mujoco.mjtTrn.mjTRN_JOINT
    )
    act.set_to_position(kp=FINGER_KP, kv=100.0)
    act.ctrlrange = [0.0, panda.GRIPPER_MAX_M / 2]
    act.forcerange = [-FINGER_FORCE_MAX_N, FINGER_FORCE_MAX_N]
    act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for geom in spec.geoms:
        if geom.parent.name in ("panda_leftfinger", "panda_rightfinger"):
            geom.friction = [1.5, 0.02, 0.001]
            geom.condim = 4
            geom.priority = 1  # finger friction wins over the object's
            geom.solref = [0.01, 1.0]
            geom.solimp = [0.95, 0.99, 0.001, 0.5, 2.0]
