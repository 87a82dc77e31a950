"""Controllers: ActionChunk -> IK (pinocchio) -> jerk-limited trajectory (ruckig) -> safety -> Robot.

Importing this package registers the built-in controllers in `CONTROLLERS`.
"""

from hvla.controllers.base import Controller, FollowResult
from hvla.controllers.cartesian import CartesianController, ControllerConfig
from hvla.controllers.ik import IkConfig, IkResult, IkSolver
from hvla.controllers.kinematic_robot import KinematicRobot
from hvla.controllers.registry import CONTROLLERS
from hvla.controllers.robot_model import PandaModel
from hvla.controllers.safety import SafetyConfig, SafetyEvent, SafetyLayer
from hvla.controllers.trajectory import JointTrajectory, TrajectoryConfig, TrajectorySample
from hvla.controllers.transforms import matrix_to_pose, pose_error, pose_to_matrix

__all__ = [
    "CONTROLLERS",
    "CartesianController",
    "Controller",
    "ControllerConfig",
    "FollowResult",
    "IkConfig",
    "IkResult",
    "IkSolver",
    "JointTrajectory",
    "KinematicRobot",
    "PandaModel",
    "SafetyConfig",
    "SafetyEvent",
    "SafetyLayer",
    "TrajectoryConfig",
    "TrajectorySample",
    "matrix_to_pose",
    "pose_error",
    "pose_to_matrix",
]
