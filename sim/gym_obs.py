"""The gymnasium observation of `KitchenEnv`: a flat float32 vector with finite bounds everywhere.

Segments, in this order (sizes in brackets; units in the names):

    q_rad [7]          joint angles, within the Panda's joint limits
    dq_radps [7]       joint velocities, within the Panda's velocity limits
    gripper_m [1]      finger opening, 0 .. GRIPPER_MAX_M
    q_target_rad [7]   the joint position target the last action set (the actions are deltas of it)
    ee_position_m [3]  TCP position, world frame, within WORKSPACE_*_M
    ee_to_obj_m [3]    task object minus TCP
    obj_to_goal_m [3]  goal point minus task object (the target's centre, or the lift point)
    grasped [1]        1 when both fingers touch the task object
    objects [N_SLOTS * ROW]  one row per slot of OBJECT_SLOTS

Each object row is `present, one-hot class (CLASS_ORDER), x, y, z [m], cos yaw, sin yaw`. A slot always
holds the same object (`OBJECT_SLOTS[i]`), so a policy can read identity from the row index as well as
from the one-hot; an absent object's row is all zeros. Values are in physical units (no scaling): the
bounds are the physical ones, and `VecNormalize` or a running normaliser handles the scale.
Observations are clipped into the bounds: contact can push a joint a hair past its limit, and an
object may fall to the floor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hvla.core import panda
from hvla.core.messages import Proprio, WorldTruth

# Every object class of sim/objects.py, in the one-hot order. Fixed here, not read from the catalogue:
# reordering the catalogue must not silently change what a trained policy sees.
CLASS_ORDER = ("banana", "apple", "lemon", "mango", "sponge", "block", "bowl", "cup", "plate")
MAX_BLOCKS = 4  # distractor blocks block_0 .. block_3 have slots; SceneConfig.distractors may not exceed it
OBJECT_SLOTS = tuple(c for c in CLASS_ORDER if c != "block") + tuple(f"block_{i}" for i in range(MAX_BLOCKS))
ROW = 1 + len(CLASS_ORDER) + 3 + 2
ROW_PRESENT = 0
ROW_CLASS = slice(1, 1 + len(CLASS_ORDER))
ROW_POSITION = slice(ROW_CLASS.stop, ROW_CLASS.stop + 3)
ROW_YAW = slice(ROW_POSITION.stop, ROW_POSITION.stop + 2)

# A box around everything the arm can reach (0.855 m from the shoulder at z = 0.333 m, plus the hand)
# down to the floor (z = -0.75 m), where a dropped object ends.
WORKSPACE_LOW_M = np.array([-1.0, -1.0, -0.8])
WORKSPACE_HIGH_M = np.array([1.2, 1.0, 1.4])


def q_target_bounds_rad() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Where a joint target may go: the joint limits less the command margin of core/panda.py."""
    return panda.Q_MIN_RAD + panda.COMMAND_MARGIN_RAD, panda.Q_MAX_RAD - panda.COMMAND_MARGIN_RAD


def _segments() -> list[tuple[str, NDArray[np.float64], NDArray[np.float64]]]:
    span = WORKSPACE_HIGH_M - WORKSPACE_LOW_M
    row_low = np.r_[0.0, np.zeros(len(CLASS_ORDER)), WORKSPACE_LOW_M, -1.0, -1.0]
    row_high = np.r_[1.0, np.ones(len(CLASS_ORDER)), WORKSPACE_HIGH_M, 1.0, 1.0]
    return [
        ("q_rad", panda.Q_MIN_RAD, panda.Q_MAX_RAD),
        ("dq_radps", -panda.DQ_MAX_RADPS, panda.DQ_MAX_RADPS),
        ("gripper_m", np.zeros(1), np.full(1, panda.GRIPPER_MAX_M)),
        ("q_target_rad", *q_target_bounds_rad()),
        ("ee_position_m", WORKSPACE_LOW_M, WORKSPACE_HIGH_M),
        ("ee_to_obj_m", -span, span),
        ("obj_to_goal_m", -span, span),
        ("grasped", np.zeros(1), np.ones(1)),
        ("objects", np.tile(row_low, len(OBJECT_SLOTS)), np.tile(row_high, len(OBJECT_SLOTS))),
    ]


def _slices() -> dict[str, slice]:
    out, start = {}, 0
    for name, low, _ in _segments():
        out[name] = slice(start, start + len(low))
        start += len(low)
    return out


SEGMENTS: dict[str, slice] = _slices()  # segment name -> its slice of the observation vector
OBS_LOW = np.concatenate([low for _, low, _ in _segments()]).astype(np.float32)
OBS_HIGH = np.concatenate([high for _, _, high in _segments()]).astype(np.float32)


def object_rows(truth: WorldTruth) -> NDArray[np.float64]:
    """(N_SLOTS, ROW) identity table: each present object in its own slot, absent slots all zero."""
    rows = np.zeros((len(OBJECT_SLOTS), ROW))
    for obj in truth.objects:
        i = OBJECT_SLOTS.index(obj.name)  # KitchenEnv checks on construction that every name has a slot
        rows[i, ROW_PRESENT] = 1.0
        rows[i, ROW_CLASS.start + CLASS_ORDER.index(obj.label)] = 1.0
        rows[i, ROW_POSITION] = obj.position_m
        rows[i, ROW_YAW] = np.cos(obj.yaw_rad), np.sin(obj.yaw_rad)
    return rows


def encode(
    proprio: Proprio, q_target_rad: NDArray, truth: WorldTruth, obj: str, goal_m: NDArray
) -> NDArray[np.float32]:
    """The observation vector for task object `obj` and goal point `goal_m` [m], clipped into its bounds."""
    obj_m = truth.object(obj).position_m
    parts = [
        proprio.q_rad,
        proprio.dq_radps,
        [proprio.gripper_m],
        q_target_rad,
        proprio.ee_position_m,
        obj_m - proprio.ee_position_m,
        goal_m - obj_m,
        [float(truth.grasped == obj)],
        object_rows(truth).ravel(),
    ]
    return np.clip(np.concatenate(parts), OBS_LOW, OBS_HIGH).astype(np.float32)
