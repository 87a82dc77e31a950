"""Training samples: LeRobot datasets -> frame tensors, history gathering, augmentation.

Every frame is a sample; its history (`features.HISTORY` frames back, clamped at the episode start,
as the live policy repeats its first frame) and the episode's first frame are gathered per batch, so
memory holds each frame once. Augmentations act on the raw token arrays before feature computation:
position jitter, token dropout (whole objects, or single frames as in partial occlusion), synthetic
distractor tokens and proprioception noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hvla.core.errors import DatasetError
from hvla.skills.data import schema
from hvla.skills.data.lerobot import CHUNK_KEY, load_dataset
from hvla.skills.data.quality import QualityFilter, episode_args
from hvla.skills.policy import features as ft
from hvla.skills.policy.text import TextTable, arg_text, skill_text

# CHUNK_KEY (`label.chunk`), the expert's K-step labels: `load_dataset` reads them under that name from
# datasets of the layouts recorded before too.
COLUMNS = ("observation.state", "observation.environment_state", CHUNK_KEY, "is_recovery", "frame_index",
           "expert.phase")


@dataclass
class TrainingSet:
    """All frames of all episodes, as tensors, plus per-episode conditioning."""

    tokens: Tensor  # (F, N, D) absent slots forward-filled from their last sighting
    state: Tensor  # (F, S)
    action: Tensor  # (F, K * 8) chunk labels (`label.chunk`)
    frame: Tensor  # (F,) index within the episode
    ep_start: Tensor  # (F,) row of the episode's first frame
    episode: Tensor  # (F,) episode id
    recovery: Tensor  # (F,) bool
    switch: Tensor  # (F,) bool: the label opens or closes the gripper (rare, decisive frames)
    roles: Tensor  # (E, N)
    skill: Tensor  # (E,)
    args: Tensor  # (E, MAX_ARGS)
    arg_roles: Tensor  # (E, MAX_ARGS)
    ep_weight: Tensor  # (E,) quality weight (0 = filtered out)
    ep_clutter: Tensor  # (E,) distractor blocks in the scene
    ep_skill_name: list[str]
    ep_uid: list[str]
    stand_in_ids: Tensor  # text ids of the stand-in words
    world: str = "kitchen"  # where every episode was recorded (`hvla.world` in info.json; kitchen if unnamed)

    @property
    def label_z_min_m(self) -> float:
        """The lowest waypoint height of the labels that train (where the expert's fingers went lowest)."""
        rows = self.subset_episodes(self.ep_weight.numpy() > 0)
        return round(float(self.action[rows].view(len(rows), -1, 8)[..., 2].min()), 4) if len(rows) else 0.0

    @property
    def skills(self) -> list[str]:
        """The skills whose episodes train (weight > 0), sorted."""
        w = self.ep_weight.numpy()
        return sorted({s for s, wi in zip(self.ep_skill_name, w) if wi > 0})

    @property
    def num_frames(self) -> int:
        return len(self.frame)

    def subset_episodes(self, keep: np.ndarray) -> np.ndarray:
        """Row indices of the frames whose episode is in `keep` (a boolean (E,) mask)."""
        return np.flatnonzero(keep[self.episode.numpy()])


def forward_fill(env: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(F, N, D) tokens: an absent slot keeps its last-seen fields with present = 0 (the live memory)."""
    out = env.copy()
    for start, n in zip(starts, lengths):
        for t in range(start + 1, start + n):
            absent = out[t, :, 0] == 0
            if absent.any():
                out[t, absent, 1:] = out[t - 1, absent, 1:]
    return out


def splice_phase_switches(action: np.ndarray, phase: np.ndarray, starts: np.ndarray,
                          lengths: np.ndarray, gripper: bool = True, ahead: np.ndarray | None = None) -> np.ndarray:
    """(F, K * 8) chunk labels that run on past the expert's phase switches, as the expert then moved.

    The scripted expert plans one phase at a time: while its fingers close (a dwell) its chunk says
    "stay here" for all K steps, and the lift only appears once the phase has switched. Trained on
    that, with an L1 loss, the settled frames outvote the one frame that lifts, and the policy waits
    forever with the object in its hand. Here waypoint j of frame t comes from the chunk of the frame
    where the phase that is running at t + j began (if it began after t), at its matching offset: the
    label is what the expert actually did next, as action chunking (ACT) trains on. Within a phase the
    expert's own corrective chunk is kept, so noise-injected frames still teach the way back.

    Episodes flagged in `ahead` (an (E,) mask) already hold labels planned on across the switches
    (DAgger's `look_ahead`): the frames that follow are the learner's, not the expert's, so they are
    not spliced. With `gripper=False` every waypoint's gripper label is the command of the moment.
    """
    f_total = len(action)
    k = schema.CHUNK_K
    chunks = action.reshape(f_total, k, -1)
    idx = np.arange(f_total)
    ep_start = np.repeat(starts, lengths)
    ep_last = np.repeat(starts + lengths - 1, lengths)
    new_run = (idx == ep_start) | (phase != np.roll(phase, 1))
    run_start = np.maximum.accumulate(np.where(new_run, idx, 0))  # first frame of each frame's phase run
    j = np.arange(k)[None, :]
    future = np.minimum(idx[:, None] + j, ep_last[:, None])
    source = np.maximum(idx[:, None], run_start[future])  # (F, K) frame whose chunk holds waypoint j
    spliced = chunks[source, j - (source - idx[:, None])]
    if ahead is not None:
        keep = np.repeat(ahead, lengths)
        spliced[keep] = chunks[keep]
    if not gripper:  # the gripper label stays the expert's command of the moment (no anticipated close)
        spliced[..., 7] = chunks[:, :1, 7]
    return spliced.reshape(f_total, -1)


def load_training_set(paths: list[Path], text: TextTable, quality: QualityFilter | None = None,
                      max_episodes_per_skill: int | None = None, dagger_boost: float = 1.0,
                      perceived_boost: float = 1.0, splice_phases: bool = True,
                      splice_gripper: bool = False, skills: Sequence[str] | None = None) -> TrainingSet:
    """Concatenate datasets; demonstrations over `max_episodes_per_skill` (per dataset, by uid order) are dropped,
    and with `skills` the episodes of every other skill (a LIBERO drawer's pull needs a hand orientation this
    policy does not output: those stay scripted).

    Raises:
        DatasetError: the datasets come from different worlds (one policy per world), or none is left.

    With `splice_phases` the chunk labels run on across the expert's phase switches
    (`splice_phase_switches`); without, each frame keeps the expert's one-phase chunk.

    Episodes from DAgger roll-outs weigh `dagger_boost` times more: they are few, and they hold the
    states the policy itself reaches. Episodes on perceived tokens weigh `perceived_boost` times more:
    they are what the policy meets behind the default (learned) perception, and fewer are recorded.
    """
    quality = quality or QualityFilter()
    parts: dict[str, list] = {k: [] for k in ("tokens", "state", "action", "frame", "start", "episode", "recovery")}
    ep: dict[str, list] = {k: [] for k in ("roles", "skill", "args", "arg_roles", "weight", "clutter", "name", "uid")}
    offset = 0
    worlds = {}
    for path in paths:
        ds = load_dataset(path, COLUMNS)
        worlds[str(path)] = dataset_world(ds.info)
        weights = quality.weights(ds)
        if skills is not None:
            weights *= np.array([e.get("hvla/skill") in skills for e in ds.episodes], dtype=float)
        dagger = np.array([str(e.get("hvla/source", "")).startswith("dagger") for e in ds.episodes])
        weights *= np.where(dagger, dagger_boost, 1.0)
        weights *= np.array([perceived_boost if e.get("hvla/tokens") == "perceived" else 1.0 for e in ds.episodes])
        if max_episodes_per_skill is not None:
            seen: dict[str, int] = {}
            for i, e in enumerate(ds.episodes):
                if dagger[i]:  # the cap is the demonstrations' (a data-efficiency run); roll-outs all count
                    continue
                skill = e.get("hvla/skill", "")
                seen[skill] = seen.get(skill, 0) + 1
                if seen[skill] > max_episodes_per_skill:
                    weights[i] = 0.0
        starts = np.array([e["dataset_from_index"] for e in ds.episodes], dtype=np.int64)
        lengths = np.array([e["length"] for e in ds.episodes], dtype=np.int64)
        env = ds.columns["observation.environment_state"].reshape(-1, schema.N_SLOTS, schema.TOKEN_DIM)
        parts["tokens"].append(forward_fill(env, starts, lengths))
        parts["state"].append(ds.columns["observation.state"])
        action = ds.columns[CHUNK_KEY]
        if splice_phases:
            ahead = np.array([e.get("hvla/label_horizon") == schema.LABELS_AHEAD for e in ds.episodes])
            action = splice_phase_switches(action, ds.columns["expert.phase"].ravel(), starts, lengths,
                                           splice_gripper, ahead)
        parts["action"].append(action)
        parts["frame"].append(ds.columns["frame_index"])
        parts["recovery"].append(ds.columns["is_recovery"])
        n_ep = len(ds.episodes)
        ep_of_frame = np.repeat(np.arange(n_ep), lengths)
        parts["episode"].append(ep_of_frame + len(ep["uid"]))
        parts["start"].append(starts[ep_of_frame] + offset)
        for i, e in enumerate(ds.episodes):
            roles, skill, args, arg_roles = episode_conditioning(e, text)
            ep["roles"].append(roles)
            ep["skill"].append(skill)
            ep["args"].append(args)
            ep["arg_roles"].append(arg_roles)
            ep["weight"].append(weights[i])
            ep["clutter"].append(int(e.get("hvla/n_distractors", 0)))
            ep["name"].append(e.get("hvla/skill", ""))
            ep["uid"].append(e.get("hvla/uid", f"{path}:{i}"))
        offset += len(ep_of_frame)
    if not ep["uid"]:
        raise DatasetError(f"no episodes in {[str(p) for p in paths]}")
    if len(set(worlds.values())) > 1:
        raise DatasetError(f"datasets from different worlds {worlds}: a policy is trained for one world; give "
                           "the datasets of one")
    if not any(w > 0 for w in ep["weight"]):
        raise DatasetError(f"no episode of {[str(p) for p in paths]} is left to train on (skills {skills}, "
                           f"recorded: {sorted(set(ep['name']))})")
    cat = np.concatenate
    return TrainingSet(
        tokens=torch.from_numpy(cat(parts["tokens"])).float(),
        state=torch.from_numpy(cat(parts["state"])).float(),
        action=torch.from_numpy(cat(parts["action"])).float(),
        frame=torch.from_numpy(cat(parts["frame"])).long(),
        ep_start=torch.from_numpy(cat(parts["start"])).long(),
        episode=torch.from_numpy(cat(parts["episode"])).long(),
        recovery=torch.from_numpy(cat(parts["recovery"])).bool(),
        switch=torch.from_numpy(gripper_switch(cat(parts["action"]), cat(parts["state"]))),
        roles=torch.tensor(np.array(ep["roles"])).long(),
        skill=torch.tensor(ep["skill"]).long(),
        args=torch.tensor(np.array(ep["args"])).long(),
        arg_roles=torch.tensor(np.array(ep["arg_roles"])).long(),
        ep_weight=torch.tensor(ep["weight"]).float(),
        ep_clutter=torch.tensor(ep["clutter"]).long(),
        ep_skill_name=ep["name"],
        ep_uid=ep["uid"],
        stand_in_ids=torch.tensor(text.ids(ft.STAND_IN_WORDS)).long(),
        world=next(iter(worlds.values())),
    )


def dataset_world(info: dict) -> str:
    """The world a dataset was recorded in (`hvla.world` of its info.json; datasets before worlds: the kitchen)."""
    return str(info.get("hvla", {}).get("world", "kitchen"))


def gripper_switch(action: np.ndarray, state: np.ndarray) -> np.ndarray:
    """(F,) frames whose label commands the gripper other than it is (closing on an object, releasing it)."""
    label_open = action[:, 7] > ft.OPEN_THRESHOLD_M
    is_open = state[:, 7] > 0.075
    return label_open != is_open


def episode_conditioning(meta: dict, text: TextTable) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Slot roles, skill text id, argument text ids and their roles, from an episode's metadata."""
    names = list(meta.get("hvla/objects") or [])
    return subgoal_conditioning(meta["hvla/skill"], episode_args(meta), names, text)


def subgoal_conditioning(skill: str, args: dict[str, str], slot_names: list[str], text: TextTable
                         ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    roles = np.zeros(schema.N_SLOTS, dtype=np.int64)
    arg_ids = np.zeros(ft.MAX_ARGS, dtype=np.int64)
    arg_roles = np.zeros(ft.MAX_ARGS, dtype=np.int64)
    for j, (role, name) in enumerate(list(args.items())[: ft.MAX_ARGS]):
        role_id = ft.ARG_ROLES.get(role, 0)
        if name in slot_names:
            roles[slot_names.index(name)] = role_id
        arg_ids[j] = text.ids([arg_text(name)])[0]
        arg_roles[j] = role_id
    return roles, text.ids([skill_text(skill)])[0], arg_ids, arg_roles


def gather(ts: TrainingSet, rows: Tensor) -> tuple[ft.RawBatch, Tensor]:
    """The raw batch of frames `rows` with their history, and their (B, K * 8) labels."""
    start = ts.ep_start[rows]
    hist = torch.stack([torch.maximum(rows - h, start) for h in ft.HISTORY], dim=1)  # (B, H)
    ep = ts.episode[rows]
    raw = ft.RawBatch(
        tokens=ts.tokens[hist],
        init_tokens=ts.tokens[start],
        state=ts.state[hist],
        roles=ts.roles[ep],
        skill=ts.skill[ep],
        args=ts.args[ep],
        arg_roles=ts.arg_roles[ep],
    )
    return raw, ts.action[rows]


@dataclass(frozen=True)
class AugmentConfig:
    jitter_m: float = 0.003  # per-object offset of bystanders, the same over the history
    jitter_role_m: float = 0.001  # for the subgoal's own objects: the grasp needs millimetres
    jitter_frame_m: float = 0.001  # per-frame noise on top
    drop_object_p: float = 0.1  # a non-subgoal object vanishes from the sample
    drop_frame_p: float = 0.08  # one object in one history frame is missed (occlusion)
    # Share of samples seen through heavy occlusion (scaled by the curriculum) ... Off by default until a
    # policy trained with it beats the committed one (`hvla train policy --occlusion-share 0.3`).
    occluded_p: float = 0.0
    occluded_rate: tuple[float, float] = (0.1, 0.45)  # ... where each token misses each frame at a rate drawn here
    distractor_p: float = 0.5  # chance of 1-3 synthetic distractor tokens (scaled by the curriculum)
    proprio_noise_m: float = 0.002
    gripper_noise_m: float = 0.001
    stand_in_p: float = 0.25  # the object's word replaced by a stand-in word


_CATS = [schema.category_index(c) for c in ("fruit", "distractor", "container", "tool", "surface")]


def augment(raw: ft.RawBatch, cfg: AugmentConfig, distractor_scale: float, stand_ins: Tensor,
            gen: torch.Generator) -> ft.RawBatch:
    """A randomly perturbed copy of `raw` (labels are unchanged: they stay the expert's).

    `distractor_scale` (0..1, the curriculum) scales the cluttered and heavily occluded share of the batch."""
    tokens, init, state = raw.tokens.clone(), raw.init_tokens.clone(), raw.state.clone()
    B, H, N, _ = tokens.shape
    valid = (init[..., 0] > 0) | (tokens[..., 0].amax(1) > 0)
    # Position jitter: perception is never exact.
    scale = torch.where(raw.roles > 0, cfg.jitter_role_m, cfg.jitter_m)[:, None, :, None]
    offset = torch.randn(B, 1, N, 3, generator=gen) * scale
    tokens[..., 1:4] += offset + torch.randn(B, H, N, 3, generator=gen) * cfg.jitter_frame_m
    init[..., 1:4] += offset[:, 0]
    # Token dropout: whole bystander objects, and single frames of any object (present = 0, last seen kept).
    bystander = raw.roles == 0
    gone = (torch.rand(B, N, generator=gen) < cfg.drop_object_p) & bystander
    tokens[gone[:, None, :].expand(B, H, N)] = 0.0
    init[gone] = 0.0
    rate = torch.full((B,), cfg.drop_frame_p)
    heavy = torch.rand(B, generator=gen) < cfg.occluded_p * distractor_scale
    lo, hi = cfg.occluded_rate
    rate = torch.where(heavy, lo + (hi - lo) * torch.rand(B, generator=gen), rate)
    missed = torch.rand(B, H, N, generator=gen) < rate[:, None, None]
    tokens[..., 0] = torch.where(missed, torch.zeros_like(tokens[..., 0]), tokens[..., 0])
    valid &= ~gone
    # Synthetic distractors in free slots.
    if distractor_scale > 0:
        _add_distractors(tokens, init, valid, raw.roles, cfg.distractor_p * distractor_scale, gen)
    # Proprioception noise on the past frames and the gripper (the current hand pose anchors the labels).
    state[:, 1:, :3] += torch.randn(B, H - 1, 3, generator=gen) * cfg.proprio_noise_m
    state[..., 7] += torch.randn(B, H, generator=gen) * cfg.gripper_noise_m
    args = raw.args.clone()
    swap = (torch.rand(B, generator=gen) < cfg.stand_in_p) & (raw.arg_roles[:, 0] == ft.ARG_ROLES["object"])
    args[swap, 0] = stand_ins[torch.randint(len(stand_ins), (int(swap.sum()),), generator=gen)]
    return ft.RawBatch(tokens, init, state, raw.roles, raw.skill, args, raw.arg_roles)


def _add_distractors(tokens: Tensor, init: Tensor, valid: Tensor, roles: Tensor, p: float,
                     gen: torch.Generator) -> None:
    """Up to 3 fake objects per chosen sample, in its first free slots, never near a subgoal object."""
    B, H, N, D = tokens.shape
    chosen = torch.rand(B, generator=gen) < p
    count = torch.randint(1, 4, (B,), generator=gen) * chosen
    free_rank = torch.cumsum((~valid).long(), dim=1) * (~valid)  # 1, 2, 3 ... for free slots, 0 for taken
    put = (free_rank > 0) & (free_rank <= count[:, None])  # (B, N)
    fake = _fake_tokens(B * N, gen).view(B, N, D)
    role_xy = tokens[:, 0, :, 1:3]
    dist = torch.cdist(fake[..., 1:3], role_xy)  # (B, N fake, N real)
    dist = dist.masked_fill((roles == 0)[:, None, :], float("inf"))
    put &= dist.amin(dim=-1) >= 0.08
    tokens[put[:, None, :].expand(B, H, N)] = fake[:, None].expand(B, H, N, D)[put[:, None, :].expand(B, H, N)]
    init[put] = fake[put]
    valid |= put


def _fake_tokens(n: int, gen: torch.Generator) -> Tensor:
    """(n, D) random objects on the table: size, place, colour, yaw and category."""
    u = torch.rand(n, 10, generator=gen)
    ex, ey, ez = 0.03 + 0.09 * u[:, 0], 0.03 + 0.09 * u[:, 1], 0.02 + 0.06 * u[:, 2]
    cats = torch.tensor(_CATS, dtype=torch.float32)[(u[:, 5] * len(_CATS)).long().clamp(max=len(_CATS) - 1)]
    return torch.stack([torch.ones(n), 0.34 + 0.38 * u[:, 3], -0.42 + 0.84 * u[:, 4], ez / 2, ex, ey, ez,
                        u[:, 6], u[:, 7], u[:, 8], u[:, 9] * 3.14159 - 1.5708, cats], dim=1)
