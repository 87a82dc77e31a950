"""Shared messages, the registry of implementations, the exception tree and the Robot / World interfaces.
No layer logic: every layer imports from here, and this package imports no layer.

Public API:
    messages: Observation, CameraFrame, CameraInfo, Proprio, ObjectState, WorldTruth, ObjectToken, Scene,
              Subgoal, Plan, ActionChunk
    interfaces: Robot, World, JointCommand, JointLimits
    registry: Registry, Registered
    errors: HvlaError and its subclasses (ConfigError, MessageError, RegistryError, UnreachableError,
            SafetyError, SimulationError, GroundingError, CheckpointError, ReadOnlyArtifactsError, DatasetError,
            EStopLatchedError)
"""

from hvla.core.errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    EStopLatchedError,
    GroundingError,
    HvlaError,
    MessageError,
    ReadOnlyArtifactsError,
    RegistryError,
    SafetyError,
    SimulationError,
    UnreachableError,
)
from hvla.core.messages import (
    ActionChunk,
    Articulation,
    CameraFrame,
    CameraInfo,
    ObjectState,
    ObjectToken,
    Observation,
    Plan,
    Proprio,
    Scene,
    Subgoal,
    WorldTruth,
)
from hvla.core.registry import Registered, Registry
from hvla.core.robot import JointCommand, JointLimits, Robot
from hvla.core.world import World

__all__ = [
    "ActionChunk",
    "Articulation",
    "CameraFrame",
    "CameraInfo",
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "EStopLatchedError",
    "GroundingError",
    "HvlaError",
    "JointCommand",
    "JointLimits",
    "MessageError",
    "ObjectState",
    "ObjectToken",
    "Observation",
    "Plan",
    "Proprio",
    "ReadOnlyArtifactsError",
    "Registered",
    "Registry",
    "RegistryError",
    "Robot",
    "SafetyError",
    "Scene",
    "SimulationError",
    "Subgoal",
    "UnreachableError",
    "World",
    "WorldTruth",
]
