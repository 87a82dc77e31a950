"""Teleoperation: an operator drives the hand with keys, and what they did becomes demonstration data.

The chapter's simplified control scheme, workable over a terminal or a browser: each key is one 10 Hz
tick that moves the hand target a step (x, y, z, yaw) or toggles the gripper; the controllers
(IK, ruckig, safety limits) execute it as for any policy. `TeleopOperator` is the policy the executor
runs and the labelling policy the episode recorder reads. Its labels are hindsight chunks: after the
episode, the label of tick t is the K targets the operator commanded at t..t+K-1 (`future_chunks`),
which is what a chunked policy is trained to predict (recorded as `label_horizon: ahead`). The keys
are in `KEY_HELP`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core import panda
from hvla.core.errors import ConfigError, HvlaError
from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal
from hvla.skills.data import schema
from hvla.skills.scripted.motion import down_quat_wxyz, hand_yaw

# key -> (dx, dy, dz [steps], dyaw [steps])
MOVES: dict[str, tuple[int, int, int, int]] = {
    "w": (1, 0, 0, 0), "s": (-1, 0, 0, 0), "a": (0, 1, 0, 0), "d": (0, -1, 0, 0),
    "r": (0, 0, 1, 0), "f": (0, 0, -1, 0), "q": (0, 0, 0, 1), "e": (0, 0, 0, -1), ".": (0, 0, 0, 0),
}
GRIPPER_KEY = "g"
KEY_HELP = """keys (one tick each, several per line): w/s +x/-x (away from / towards the base), a/d +y/-y (left/right),
r/f up/down, q/e yaw +/-, g close/open the gripper, . hold; an empty line holds one tick, x ends the episode"""
KEYS = (*MOVES, GRIPPER_KEY)
MIN_Z_M = 0.01  # the fingertips never go into the table


class OperatorStoppedError(HvlaError):
    """The operator ended the episode before the subgoal's success condition held."""


@dataclass(frozen=True)
class TeleopConfig:
    step_m: float = 0.01  # one key press moves the target this far (10 cm/s when held)
    yaw_step_rad: float = 0.1

    def __post_init__(self) -> None:
        if not (0 < self.step_m <= 0.05 and 0 < self.yaw_step_rad <= 0.5):
            raise ConfigError(f"teleop steps {self.step_m} m / {self.yaw_step_rad} rad: keep them in "
                              "(0, 0.05] m and (0, 0.5] rad, the hand must follow within a tick")


def parse_keys(text: str) -> list[str]:
    """The keys of a line the operator typed (spaces ignored); unknown characters are an error naming them."""
    keys = [c for c in text.strip().lower() if not c.isspace()]
    unknown = sorted(set(keys) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown teleop keys {unknown}; known: {' '.join(KEYS)}")
    return keys


class TeleopOperator:
    """The executor's skill policy during teleoperation: pulls one key per tick from `keys`.

    When `keys` runs out the operator has stopped: `act` raises `OperatorStoppedError`, which ends the
    attempt (and the episode is recorded as failed, not dropped).
    """

    label_kind = schema.LABELS_AHEAD

    def __init__(self, keys: Iterator[str], config: TeleopConfig | None = None) -> None:
        self.keys = keys
        self.config = config or TeleopConfig()
        self.label: ActionChunk | None = None
        self.phase_index = 0  # number of gripper toggles so far: a coarse phase for the data report
        self.noise_active = False
        self.recovering = False
        self.target: NDArray[np.float64] | None = None  # x, y, z, yaw
        self.closed = False

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.target = None  # taken from the hand at the first tick

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.target is None:
            self.target = np.r_[proprio.T_world_ee[:3, 3], hand_yaw(proprio.T_world_ee)]
            self.closed = proprio.gripper_m < 0.5 * panda.GRIPPER_MAX_M
        try:
            key = next(self.keys)
        except StopIteration:
            raise OperatorStoppedError("the operator ended the episode") from None
        if key == GRIPPER_KEY:
            self.closed = not self.closed
            self.phase_index += 1
        elif key in MOVES:
            dx, dy, dz, dyaw = MOVES[key]
            self.target = self.target + np.r_[np.r_[dx, dy, dz] * self.config.step_m, dyaw * self.config.yaw_step_rad]
            self.target[2] = max(self.target[2], MIN_Z_M)
        else:
            raise ConfigError(f"unknown teleop key {key!r}; known: {' '.join(KEYS)}")
        pose = np.r_[self.target[:3], down_quat_wxyz(float(self.target[3]))]
        gripper = 0.0 if self.closed else panda.GRIPPER_MAX_M
        chunk = ActionChunk(np.tile(pose, (schema.CHUNK_K, 1)), np.full(schema.CHUNK_K, gripper), 1.0,
                            1.0 / schema.FPS)
        self.label = chunk  # replaced by the hindsight chunk when the episode is written
        return chunk


def future_chunks(executed: NDArray[np.float32]) -> NDArray[np.float32]:
    """(T, K * 8) labels from the executed chunks (T, K * 8): row t holds the first waypoints of t..t+K-1.

    The last rows repeat the final command (the operator held still at the end).
    """
    first = executed.reshape(len(executed), schema.CHUNK_K, -1)[:, 0]
    idx = np.minimum(np.arange(len(first))[:, None] + np.arange(schema.CHUNK_K)[None], len(first) - 1)
    return first[idx].reshape(len(first), -1).astype(np.float32)
