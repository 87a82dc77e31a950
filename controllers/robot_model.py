"""The Panda's kinematics (pinocchio), built from the same URDF the simulator loads.

Only the 7 arm joints are modelled: the fingers are locked, so `q` is always (7,) and the TCP is
the URDF's `panda_hand_tcp` frame (between the fingertips), the same point the simulator reports.
"""

from __future__ import annotations

import numpy as np
import pinocchio as pin
from numpy.typing import ArrayLike, NDArray

from hvla.controllers.transforms import check_pose_matrix, invert_pose
from hvla.core import panda
from hvla.core.errors import ConfigError, MessageError

FloatArray = NDArray[np.float64]


def _build_arm_model() -> pin.Model:
    """Full URDF model, then the two finger joints locked at zero: 7 arm joints remain."""
    urdf = str(panda.panda_urdf_path())
    # Kinematics need no meshes (geometry_types=[] skips them; loading them costs ~0.4 s), but
    # package_dirs keeps `package://example-robot-data/...` resolvable exactly as the simulator does.
    (full,) = pin.buildModelsFromUrdf(urdf, package_dirs=[str(panda.description_root())], geometry_types=[])
    lock = [full.getJointId(name) for name in panda.FINGER_JOINTS]
    arm = pin.buildReducedModel(full, lock, pin.neutral(full))
    names = tuple(arm.names[i] for i in range(1, arm.njoints))
    if names != panda.ARM_JOINTS or arm.nq != 7:
        raise ConfigError(f"reduced Panda model has joints {names}, expected {panda.ARM_JOINTS}")
    if not arm.existFrame(panda.TCP_FRAME):
        raise ConfigError(f"Panda URDF has no frame '{panda.TCP_FRAME}'")
    return arm


class PandaModel:
    """Forward kinematics and Jacobians of the arm, in the world frame.

    `T_world_base` is where the robot base is mounted (identity: base at the world origin).
    Not thread-safe: each instance owns one pinocchio Data buffer.
    """

    def __init__(self, T_world_base: ArrayLike | None = None) -> None:
        self.model = _build_arm_model()
        self.data = self.model.createData()
        self.tcp_frame_id = self.model.getFrameId(panda.TCP_FRAME)
        self.T_world_base = np.eye(4) if T_world_base is None else check_pose_matrix(T_world_base, "T_world_base")
        self.T_base_world = invert_pose(self.T_world_base)
        self.q_min_rad = np.array(self.model.lowerPositionLimit, dtype=float)
        self.q_max_rad = np.array(self.model.upperPositionLimit, dtype=float)
        self._R6 = np.kron(np.eye(2), self.T_world_base[:3, :3])  # rotates [v; w] base -> world
        self.shoulder_world_m, self.max_reach_m = self._reach_bound()

    # --- kinematics -------------------------------------------------------------------------

    def fk(self, q_rad: ArrayLike) -> FloatArray:
        """T_world_ee (4, 4) of the TCP frame `panda_hand_tcp`."""
        q = self.check_q(q_rad)
        pin.framesForwardKinematics(self.model, self.data, q)
        return self.T_world_base @ self.data.oMf[self.tcp_frame_id].homogeneous

    def jacobian(self, q_rad: ArrayLike) -> FloatArray:
        """(6, 7) TCP Jacobian [linear; angular], LOCAL_WORLD_ALIGNED: TCP origin, world axes."""
        q = self.check_q(q_rad)
        J = pin.computeFrameJacobian(self.model, self.data, q, self.tcp_frame_id, pin.LOCAL_WORLD_ALIGNED)
        return self._R6 @ J

    def kinematics(self, q_rad: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """`fk` and `jacobian` of one q from one pinocchio pass (the safety layer needs both every 2 ms)."""
        q = self.check_q(q_rad)
        pin.computeJointJacobians(self.model, self.data, q)  # forward kinematics included
        pin.updateFramePlacements(self.model, self.data)
        J = pin.getFrameJacobian(self.model, self.data, self.tcp_frame_id, pin.LOCAL_WORLD_ALIGNED)
        return self.T_world_base @ self.data.oMf[self.tcp_frame_id].homogeneous, self._R6 @ J

    def condition_number(self, q_rad: ArrayLike) -> float:
        """2-norm condition number of the (6, 7) Jacobian; grows without bound near singularities.

        Metres and radians are mixed as MoveIt Servo does, so its thresholds (17 slow, 30 halt) apply.
        """
        return jacobian_condition(self.jacobian(q_rad))

    # --- helpers ----------------------------------------------------------------------------

    def check_q(self, q_rad: ArrayLike) -> FloatArray:
        """`q_rad` as a finite float (7,) array, or MessageError."""
        q = np.asarray(q_rad, dtype=np.float64)
        if q.shape != (7,):
            raise MessageError(f"q_rad has shape {q.shape}, expected (7,)")
        if not np.isfinite(q).all():
            raise MessageError(f"q_rad holds NaN or inf: {q.tolist()}")
        return q

    def command_limits(self, margin_rad: float = panda.COMMAND_MARGIN_RAD) -> tuple[FloatArray, FloatArray]:
        """Joint limits shrunk by `margin_rad`: the range every command must stay in."""
        return self.q_min_rad + margin_rad, self.q_max_rad - margin_rad

    def random_q(self, rng: np.random.Generator, margin_rad: float = panda.COMMAND_MARGIN_RAD) -> FloatArray:
        """A uniformly random configuration inside the command limits (for tests and benchmarks)."""
        lo, hi = self.command_limits(margin_rad)
        return rng.uniform(lo, hi)

    def _reach_bound(self) -> tuple[FloatArray, float]:
        """Shoulder position in world and an upper bound on the TCP's distance from it.

        Joints 1 and 2 share an origin (the shoulder); the sum of the fixed link offsets after it
        bounds the reach for any q, so IK can reject far targets without iterating.
        """
        pin.framesForwardKinematics(self.model, self.data, pin.neutral(self.model))
        shoulder = self.data.oMi[2].translation.copy()
        links = [np.linalg.norm(self.model.jointPlacements[j].translation) for j in range(3, self.model.njoints)]
        tcp = np.linalg.norm(self.model.frames[self.tcp_frame_id].placement.translation)
        shoulder_world = self.T_world_base[:3, :3] @ shoulder + self.T_world_base[:3, 3]
        return shoulder_world, float(sum(links) + tcp)


def jacobian_condition(J: FloatArray) -> float:
    """2-norm condition number of a Jacobian (inf at a singularity)."""
    s = np.linalg.svd(J, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 1e-12 else float("inf")
