"""What one dataset frame holds, as fixed-size float arrays: the columns of the LeRobot v3 parquet files.

Object tokens go into `observation.environment_state` as N_SLOTS slots of TOKEN_FIELDS each. A slot is
one object for the whole episode (the episode's `hvla/objects` lists the names, slot by slot), so a
token that disappears for a frame (occlusion, a missed detection) leaves `present = 0` in its slot.
A frame's `action` is what the robot was commanded at that frame, one end-effector target and gripper
opening (x, y, z, qw, qx, qy, qz, gripper) in the world frame, as LeRobot expects one action per frame;
the chunks (the expert's label, the executed command) are K such waypoints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from hvla.controllers.transforms import matrix_to_pose
from hvla.core.messages import ActionChunk, ObjectToken, Proprio

FPS = 10  # the executor's sense-act rate: one frame per `act`
CHUNK_K = 10
# How far an episode's action labels look: "phase" (the scripted expert's chunk, which stops at the end
# of its phase; training splices it on) or "ahead" (planned on across phase switches, as DAgger labels).
LABELS_PHASE, LABELS_AHEAD = "phase", "ahead"
N_SLOTS = 16
TOKEN_FIELDS = ("present", "x", "y", "z", "extent_x", "extent_y", "extent_z", "r", "g", "b", "yaw", "category")
TOKEN_DIM = len(TOKEN_FIELDS)
# Categories as the simulator and perception name them; anything else maps to "object".
# Where a token may lie: outside it an object left the table (knocked off, or launched by a contact glitch
# that raised no MuJoCo warning). Quality scoring drops such episodes; features clip to it.
TOKEN_WORKSPACE_LO_M = (-0.5, -1.0, -0.1)
TOKEN_WORKSPACE_HI_M = (1.5, 1.0, 1.0)
CATEGORIES = ("fruit", "container", "surface", "tool", "distractor", "region", "object")
STATE_NAMES = (
    "ee.x", "ee.y", "ee.z", "ee.qw", "ee.qx", "ee.qy", "ee.qz", "gripper",
    *(f"q{i}" for i in range(7)), *(f"dq{i}" for i in range(7)),
)
STATE_DIM = len(STATE_NAMES)
WAYPOINT_FIELDS = ("x", "y", "z", "qw", "qx", "qy", "qz", "gripper")
ACTION_NAMES = STATE_NAMES[: len(WAYPOINT_FIELDS)]  # the target in the state's own names: ee.x .. gripper
ACTION_DIM = len(ACTION_NAMES)
CHUNK_DIM = CHUNK_K * len(WAYPOINT_FIELDS)


def category_index(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else CATEGORIES.index("object")


def encode_state(proprio: Proprio) -> NDArray[np.float32]:
    """(STATE_DIM,) ee pose, gripper opening, joint angles and velocities."""
    pose = matrix_to_pose(proprio.T_world_ee)  # xyz + quaternion wxyz
    return np.concatenate([pose, [proprio.gripper_m], proprio.q_rad, proprio.dq_radps]).astype(np.float32)


def encode_token(tok: ObjectToken) -> NDArray[np.float32]:
    return np.array(
        [1.0, *tok.position_m, *tok.extent_m, *tok.color_rgb, tok.yaw_rad, category_index(tok.category)],
        dtype=np.float32,
    )


class SlotMap:
    """Stable object -> slot assignment over one episode: first come, first served, N_SLOTS at most."""

    def __init__(self, names: Sequence[str] = ()) -> None:
        self.names: list[str] = []
        self.labels: list[str] = []
        self.categories: list[str] = []
        for name in names:
            self._add(name, name, "object")

    def _add(self, name: str, label: str, category: str) -> int | None:
        if len(self.names) >= N_SLOTS:
            return None  # a crowded scene: later arrivals are not recorded
        self.names.append(name)
        self.labels.append(label)
        self.categories.append(category)
        return len(self.names) - 1

    def encode(self, tokens: Sequence[ObjectToken]) -> NDArray[np.float32]:
        """(N_SLOTS * TOKEN_DIM,) with absent slots all zero."""
        out = np.zeros((N_SLOTS, TOKEN_DIM), dtype=np.float32)
        for tok in tokens:
            slot = self.names.index(tok.name) if tok.name in self.names else self._add(tok.name, tok.label,
                                                                                        tok.category)
            if slot is not None:
                out[slot] = encode_token(tok)
        return out.reshape(-1)


def encode_action(chunk: ActionChunk) -> NDArray[np.float32]:
    """(ACTION_DIM,) the waypoint the robot is sent to next: the first of the chunk it executes."""
    return np.append(chunk.ee_targets[0], chunk.gripper_m[0]).astype(np.float32)


def encode_chunk(chunk: ActionChunk) -> NDArray[np.float32]:
    """(CHUNK_DIM,) K waypoints of pose + gripper; shorter chunks repeat their last waypoint."""
    rows = np.hstack([chunk.ee_targets, chunk.gripper_m[:, None]])
    if len(rows) < CHUNK_K:
        rows = np.vstack([rows, np.repeat(rows[-1:], CHUNK_K - len(rows), axis=0)])
    return rows[:CHUNK_K].astype(np.float32).reshape(-1)


def token_names() -> list[str]:
    return [f"slot{i}.{f}" for i in range(N_SLOTS) for f in TOKEN_FIELDS]


def chunk_names() -> list[str]:
    return [f"k{i}.{f}" for i in range(CHUNK_K) for f in WAYPOINT_FIELDS]
