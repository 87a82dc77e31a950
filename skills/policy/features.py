"""From recorded arrays (or the live scene) to the transformer's input tokens, in torch, batched.

The same function serves training (B = batch) and inference (B = 1), so what the policy sees at run
time is what it was trained on. Shape letters: B batch, H history frames, N object slots,
D token fields (`schema.TOKEN_FIELDS`), S state fields, K chunk length.

Frames are expressed relative to the *current* hand position: an object token carries where the
object was over the last H frames, where it was when the subgoal started (the sponge's home for
`wipe`), its size, colour, category and grasp yaw relative to the hand. The subgoal's objects are
marked by role embeddings (object / target / tool / region), so the policy knows *which* token to
act on whatever its class; the MiniLM text of the skill and of each argument rides along as
separate tokens.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import Tensor

from hvla.skills.data import schema

HISTORY = (0, 1, 2, 3)  # frames back in time (10 Hz): 4 frames
ROLES = ("none", "object", "target", "tool", "region")
ARG_ROLES = {"object": 1, "target": 2, "tool": 3, "region": 4}
MAX_ARGS = 2
SKILL_TEXT = {
    "pick": "pick up the object",
    "pick_place": "pick up the object and put it on the target",
    "place": "put the held object on the target",
    "wipe": "wipe the region with the tool",
    "push": "push the object to the target",
}
# Words that stand in for an object's own name during training (text augmentation), so the policy
# leans on the role-marked token, not on the exact word. "mango" is deliberately not among them.
STAND_IN_WORDS = ("fruit", "object", "item", "thing", "peach", "pear", "plum", "orange", "kiwi")

POS_SCALE = 5.0  # 0.2 m -> 1
EXTENT_SCALE = 10.0
GRIP_SCALE = 12.5  # 0.08 m -> 1
GRIPPER_MAX_M = 0.08
ACT_POS_SCALE_M = 0.1  # predicted waypoint offsets are in units of 10 cm
OPEN_THRESHOLD_M = 0.04
FINE_SCALE_M = 0.02  # tanh(offset / 2 cm): millimetre resolution where the grasp decision is made
OBJ_FEATURES = 4 * len(HISTORY) + 3 + 3 + 3 + 3 + 3 + 1 + 4
PROPRIO_FEATURES = 3 + 2 + 1 + 4 * (len(HISTORY) - 1)

_ROLE_RE = re.compile(r"_\d+$")


def arg_text(name: str) -> str:
    """Text of a subgoal argument: the instance name without its number ("block_0" -> "block")."""
    return _ROLE_RE.sub("", name).replace("_", " ")


@dataclass
class RawBatch:
    """What one sample holds before feature computation."""

    tokens: Tensor  # (B, H, N, D) slot arrays, absent slots filled with their last-seen values, present = 0
    init_tokens: Tensor  # (B, N, D) at the subgoal's first frame
    state: Tensor  # (B, H, S)
    roles: Tensor  # (B, N) long, index into ROLES
    skill: Tensor  # (B,) long, index into the text table
    args: Tensor  # (B, MAX_ARGS) long, index into the text table
    arg_roles: Tensor  # (B, MAX_ARGS) long, 0 = no argument in that place

    def to(self, device: str) -> RawBatch:
        return RawBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def hand_yaw(quat_wxyz: Tensor) -> Tensor:
    """Yaw of the hand's x axis in the world xy plane, from (..., 4) quaternions."""
    w, x, y, z = quat_wxyz.unbind(-1)
    return torch.atan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))


def wrap_pi(angle: Tensor) -> Tensor:
    return torch.atan2(torch.sin(angle), torch.cos(angle))


def wrap_grasp(angle: Tensor) -> Tensor:
    """A parallel grasp is symmetric under a half turn (as `motion.wrap_grasp_yaw`)."""
    return torch.remainder(angle + math.pi / 2, math.pi) - math.pi / 2


def _clip_xyz(tokens: Tensor) -> Tensor:
    """Token positions clipped to the workspace: an object off the table must not blow up a feature."""
    lo = torch.tensor(schema.TOKEN_WORKSPACE_LO_M, dtype=tokens.dtype)
    hi = torch.tensor(schema.TOKEN_WORKSPACE_HI_M, dtype=tokens.dtype)
    return torch.cat([tokens[..., :1], torch.maximum(torch.minimum(tokens[..., 1:4], hi), lo), tokens[..., 4:]],
                     dim=-1)


def object_features(raw: RawBatch) -> tuple[Tensor, Tensor, Tensor]:
    """(B, N, OBJ_FEATURES) features, (B, N) category ids, (B, N) valid-slot mask."""
    ee = raw.state[:, 0, :3]
    yaw = hand_yaw(raw.state[:, 0, 3:7])
    tok = _clip_xyz(raw.tokens)
    present = tok[..., 0]  # (B, H, N)
    rel = (tok[..., 1:4] - ee[:, None, None, :]) * POS_SCALE  # (B, H, N, 3)
    hist = torch.cat([present[..., None], rel], dim=-1).permute(0, 2, 1, 3).flatten(2)  # (B, N, 4H)
    cur = tok[:, 0]
    world = cur[..., 1:4] * POS_SCALE
    extent = cur[..., 4:7] * EXTENT_SCALE
    rgb = cur[..., 7:10]
    dyaw = wrap_grasp(cur[..., 10]) - yaw[:, None]
    # The turn to the object's grasp yaw, as the expert makes it: the label's yaw offset is this angle
    # itself, so a linear read-out suffices (from sin/cos alone the net found it late, or never).
    turn = wrap_pi(dyaw)
    init = _clip_xyz(raw.init_tokens)
    init_rel = (init[..., 1:4] - ee[:, None, :]) * POS_SCALE
    # Coarse offsets saturate nothing but resolve millimetres poorly; these resolve them near the hand.
    near = cur[..., 1:4] - ee[:, None, :]
    top = near[..., 2:3] + 0.5 * cur[..., 6:7]
    fine = torch.tanh(torch.cat([near, top], dim=-1) / FINE_SCALE_M)
    feats = torch.cat(
        [hist, world, extent, rgb, torch.sin(dyaw)[..., None], torch.cos(dyaw)[..., None], turn[..., None], init_rel,
         init[..., :1], fine],
        dim=-1,
    )
    valid = (present.amax(dim=1) > 0) | (init[..., 0] > 0) | (cur[..., 4:7].abs().sum(-1) > 0)
    category = cur[..., 11].round().long().clamp(0, len(schema.CATEGORIES) - 1)
    return feats * valid[..., None], category, valid


def proprio_features(raw: RawBatch) -> Tensor:
    """(B, PROPRIO_FEATURES): hand position, yaw, gripper and their recent history.

    No clock: time since the subgoal started is a shortcut (demonstrations lift at about 4 s) that
    makes a slower learner lift empty-handed. What to do next must follow from the scene.
    """
    state = raw.state
    ee = state[:, 0, :3]
    yaw = hand_yaw(state[:, 0, 3:7])
    # An object pressing the open fingers apart reads wider than the gripper opens: clip to the real range.
    grip = state[..., 7:8].clamp(0.0, GRIPPER_MAX_M) * GRIP_SCALE
    parts = [ee * POS_SCALE, torch.sin(yaw)[:, None], torch.cos(yaw)[:, None], grip[:, 0]]
    for h in range(1, state.shape[1]):
        parts += [(state[:, h, :3] - ee) * POS_SCALE * 10.0, grip[:, h]]
    return torch.cat(parts, dim=-1)


def encode_targets(action: Tensor, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Labels relative to the current hand: (B, K, 3) offsets, (B, K) yaw offsets, (B, K) gripper open.

    action: (B, K * 8) world-frame waypoints; state: (B, S) the current state.
    """
    wp = action.view(action.shape[0], schema.CHUNK_K, len(schema.WAYPOINT_FIELDS))
    ee = state[:, :3]
    dpos = (wp[..., :3] - ee[:, None, :]) / ACT_POS_SCALE_M
    dyaw = wrap_pi(hand_yaw(wp[..., 3:7]) - hand_yaw(state[:, 3:7])[:, None])
    return dpos, dyaw, (wp[..., 7] > OPEN_THRESHOLD_M).float()


def decode_outputs(out: Tensor, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Model output (B, K, 5) -> world positions (B, K, 3), yaws (B, K), gripper-open probability (B, K)."""
    ee = state[:, :3]
    pos = ee[:, None, :] + out[..., :3] * ACT_POS_SCALE_M
    yaw = hand_yaw(state[:, 3:7])[:, None] + out[..., 3]
    return pos, yaw, torch.sigmoid(out[..., 4])
