"""Dataset quality: a per-episode score, a report, and the filter/weights training uses.

Score in [0, 1]: 1 for a successful episode of typical length, lower for slow ones (more than 1.5x
the median length of its skill scales it down), 0.2 for a failure. Failures are kept in the data
(their labels are still the expert's) but weigh little; `QualityFilter` can drop them. DAgger
roll-outs are the exception: a failed roll-out of the learner, labelled by the expert, is exactly
the data DAgger is for, so its score does not depend on the learner's outcome.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from hvla.core.errors import ConfigError
from hvla.skills.data import schema
from hvla.skills.data.lerobot import CHUNK_KEY, EXECUTED_KEY, Dataset

FAILURE_SCORE = 0.2


def implausible_episodes(dataset: Dataset) -> np.ndarray:
    """(E,) True where some present token leaves `schema`'s workspace box: the frames after it are not a
    kitchen any policy will see."""
    env = dataset.columns["observation.environment_state"].reshape(-1, schema.N_SLOTS, schema.TOKEN_DIM)
    present = env[..., 0] > 0
    xyz = env[..., 1:4]
    lo, hi = np.array(schema.TOKEN_WORKSPACE_LO_M), np.array(schema.TOKEN_WORKSPACE_HI_M)
    outside = present & ((xyz < lo).any(-1) | (xyz > hi).any(-1))
    frame_bad = outside.any(-1)
    out = np.zeros(len(dataset.episodes), dtype=bool)
    for i in range(len(dataset.episodes)):
        out[i] = frame_bad[dataset.frames(i)].any()
    return out


def episode_args(episode: dict[str, Any]) -> dict[str, str]:
    """The subgoal's arguments of an episode (stored as JSON text in `hvla/args`), unset ones left out."""
    raw = episode.get("hvla/args") or "{}"
    args = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return {k: v for k, v in args.items() if v is not None}


def ungrounded(episode: dict[str, Any]) -> bool:
    """True when a subgoal argument names no token of the episode (a perceived episode in which the
    detector never found, or named otherwise, the object the expert acted on): no slot carries the
    argument's role, so the frames cannot teach which object to act on."""
    names = set(episode.get("hvla/objects") or [])
    return any(v not in names for v in episode_args(episode).values())


def episode_quality(dataset: Dataset) -> np.ndarray:
    """(E,) quality scores."""
    skills = [e.get("hvla/skill", "") for e in dataset.episodes]
    lengths = np.array([e["length"] for e in dataset.episodes], dtype=float)
    median = {s: float(np.median(lengths[[i for i, k in enumerate(skills) if k == s]])) for s in set(skills)}
    scores = np.empty(len(lengths))
    broken = implausible_episodes(dataset) if "observation.environment_state" in dataset.columns else None
    for i, ep in enumerate(dataset.episodes):
        if (broken is not None and broken[i]) or ungrounded(ep):
            scores[i] = 0.0  # never train on it, whatever the outcome
            continue
        if str(ep.get("hvla/source", "")).startswith("dagger"):
            scores[i] = 1.0  # expert labels on the learner's states: the outcome says nothing about them
            continue
        base = 1.0 if ep.get("hvla/success") else FAILURE_SCORE
        scores[i] = base * min(1.0, 1.5 * median[skills[i]] / max(lengths[i], 1.0))
    return scores


@dataclass(frozen=True)
class QualityFilter:
    """Which episodes train, and how much each weighs."""

    min_quality: float = 0.0
    success_only: bool = False
    weight_by_quality: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.min_quality <= 1:
            raise ConfigError(f"min_quality={self.min_quality} must be in [0, 1]")

    def weights(self, dataset: Dataset) -> np.ndarray:
        """(E,) episode weights; 0 drops an episode."""
        q = episode_quality(dataset)
        keep = (q >= self.min_quality) & (q > 0)
        if self.success_only:
            keep &= np.array([bool(e.get("hvla/success")) for e in dataset.episodes])
        return np.where(keep, q if self.weight_by_quality else 1.0, 0.0)


def quality_report(dataset: Dataset) -> dict[str, Any]:
    """Episodes, success, per-task counts, lengths, action statistics, noise/recovery share, quality."""
    eps = dataset.episodes
    q = episode_quality(dataset)
    per_task: dict[str, Counter] = defaultdict(Counter)
    for ep in eps:
        task = ep["tasks"][0]
        per_task[task]["episodes"] += 1
        per_task[task]["succeeded"] += bool(ep.get("hvla/success"))
    per_skill: dict[str, dict[str, float]] = {}
    for skill in sorted({e.get("hvla/skill", "") for e in eps}):
        idx = [i for i, e in enumerate(eps) if e.get("hvla/skill") == skill]
        per_skill[skill] = {
            "episodes": len(idx),
            "success_rate": float(np.mean([bool(eps[i].get("hvla/success")) for i in idx])),
            "median_length": float(np.median([eps[i]["length"] for i in idx])),
            "mean_quality": float(q[idx].mean()),
        }
    failures = Counter((e.get("hvla/failure") or "")[:70] for e in eps if not e.get("hvla/success"))
    return {
        "root": str(dataset.root),
        "episodes": len(eps),
        "frames": dataset.num_frames,
        "success_rate": float(np.mean([bool(e.get("hvla/success")) for e in eps])) if eps else 0.0,
        "per_skill": per_skill,
        "per_task": {t: dict(c) for t, c in sorted(per_task.items())},
        "actions": action_statistics(dataset),
        "noise_frame_share": float(dataset.columns["noise.active"].mean()) if eps else 0.0,
        "recovery_frame_share": float(dataset.columns["is_recovery"].mean()) if eps else 0.0,
        "quality": {"mean": float(q.mean()) if eps else 0.0,
                    "histogram": np.histogram(q, bins=[0, 0.25, 0.5, 0.75, 0.9, 1.0001])[0].tolist()},
        "failures": dict(failures.most_common(5)),
        "implausible_episodes": int(implausible_episodes(dataset).sum()) if eps else 0,
        "distractors": dict(Counter(int(e.get("hvla/n_distractors", 0)) for e in eps)),
        "token_sources": dict(Counter(str(e.get("hvla/tokens") or "oracle") for e in eps)),
        "lead_ins": dict(Counter(str(e.get("hvla/lead_in") or "none") for e in eps)),
        "ungrounded_episodes": sum(ungrounded(e) for e in eps),
    }


def action_statistics(dataset: Dataset) -> dict[str, float]:
    """Label speed (first waypoint vs hand), gripper-open share, label-vs-executed gap [mm]."""
    if not dataset.episodes:
        return {}
    state = dataset.columns["observation.state"]
    fields = len(schema.WAYPOINT_FIELDS)
    label = dataset.columns[CHUNK_KEY].reshape(len(state), schema.CHUNK_K, fields)
    executed = dataset.columns[EXECUTED_KEY].reshape(len(state), schema.CHUNK_K, fields)
    step = np.linalg.norm(label[:, 0, :3] - state[:, :3], axis=1)
    gap = np.linalg.norm(label[:, :, :3] - executed[:, :, :3], axis=2).mean(axis=1)
    return {
        "first_step_mm_median": float(np.median(step) * 1e3),
        "first_step_mm_p95": float(np.percentile(step, 95) * 1e3),
        "chunk_reach_mm_median": float(np.median(np.linalg.norm(label[:, -1, :3] - state[:, :3], axis=1)) * 1e3),
        "gripper_open_share": float((label[:, 0, 7] > 0.04).mean()),
        "label_vs_executed_mm_mean": float(gap.mean() * 1e3),
    }
