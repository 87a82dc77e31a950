"""The learned skill policies by name with their typed configs: `learned` and `dagger` (`--skills learned`).

The factories import torch only when a policy is actually built, so registering them costs nothing and
`hvla run --skills scripted` stays light. Checkpoints load once per process (roll-out workers build a
policy per episode from the same file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hvla.core.messages import Observation, Scene
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.scripted.policy import ScriptedSkillsConfig


@dataclass(frozen=True)
class LearnedSkillsConfig:
    """The object-centric policy: which checkpoint, how its chunks blend, what watches it."""

    checkpoint: str | None = None  # None: the committed artefact of `world`
    world: str | None = None  # whose committed artefact (None: the builder sets the stack's world; alone: kitchen)
    ensemble_horizon: int | None = None  # chunks blended (None: the policy's default, 1: none)
    hold_frames: int | None = None  # frames a missed token stays present (None: the policy's default)
    anomaly: str | None = "committed"  # anomaly detector: "committed" (if one is), a file, or None (unwatched)
    runtime: str = "onnx"  # where the network runs: "onnx" (ONNX Runtime) or "torch"
    precision: str = "fp32"  # "int8": the export's dynamically quantised twin (runtime "onnx"; runtime.py)
    # Skills the checkpoint was not trained on run on these scripted experts (None: they are an error). The builder
    # fills in the world's gripper geometry as for `--skills scripted`.
    fallback: ScriptedSkillsConfig | None = None


@dataclass(frozen=True)
class DaggerSkillsConfig:
    """DAgger's roll-out policy: the learner acts, the scripted expert labels (and acts with probability beta)."""

    learner: LearnedSkillsConfig = field(default_factory=lambda: LearnedSkillsConfig(anomaly=None))
    beta: float = 0.0  # per-step probability of executing the expert's chunk instead
    seed: int = 0  # the beta coin's seed
    label_on_truth: bool = False  # the expert labels from simulator truth, whatever the learner sees


@lru_cache(maxsize=8)
def _loaded(loader: Callable[..., Any], checkpoint: str | None, *args: Any) -> Any:
    return loader(Path(checkpoint) if checkpoint else None, *args)


@SKILL_POLICIES.register("learned", config=LearnedSkillsConfig)
def learned_skills(config: LearnedSkillsConfig, policy: Any = None):
    """`LearnedSkills` from `config`; `policy` (a `LoadedPolicy`) replaces the checkpoint file."""
    from hvla.skills.policy.anomaly import committed_detector, load_detector
    from hvla.skills.policy.checkpoint import load_policy
    from hvla.skills.policy.ensemble import EnsembleConfig
    from hvla.skills.policy.learned import HOLD_FRAMES, LearnedSkills

    world = config.world or "kitchen"
    if config.anomaly == "committed":  # the committed detector watches the committed kitchen policy
        detector = committed_detector() if policy is None and config.checkpoint is None and world == "kitchen" else None
    else:
        detector = _loaded(load_detector, config.anomaly) if config.anomaly else None
    learned = LearnedSkills(
        policy or _loaded(load_policy, config.checkpoint, world),
        EnsembleConfig(horizon=config.ensemble_horizon) if config.ensemble_horizon else None,
        HOLD_FRAMES if config.hold_frames is None else config.hold_frames,
        detector,
        config.runtime,
        config.precision,
    )
    if config.fallback is None:
        return learned
    from hvla.skills.policy.fallback import WithFallback

    return WithFallback(learned, SKILL_POLICIES.build("scripted", config.fallback))


@SKILL_POLICIES.register("dagger", config=DaggerSkillsConfig)
def dagger_skills(config: DaggerSkillsConfig, expert_view: Callable[[Observation], Scene] | None = None):
    """`DaggerPolicy`; with `label_on_truth`, `expert_view` (the oracle's perceive) gives the expert its scene."""
    from hvla.skills.policy.dagger import DaggerPolicy

    return DaggerPolicy(learned_skills(config.learner), config.beta, config.seed,
                        expert_view if config.label_on_truth else None)
