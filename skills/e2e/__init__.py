"""skills/e2e: the end-to-end baseline, one network from camera pixels and words to waypoint chunks.

The chapter's other way to solve a task, trained on the same demonstrations as the object-centric
policy, so `benchmarks/approaches.py` can set modular, end-to-end and hybrid side by side.
`--skills e2e` builds `EndToEndSkills` from an `EndToEndSkillsConfig` (torch loads on first use).

Public API:
    EndToEndSkillsConfig (registered as "e2e")
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hvla.skills.base import SKILL_POLICIES

__all__ = ["EndToEndSkillsConfig"]


@dataclass(frozen=True)
class EndToEndSkillsConfig:
    checkpoint: str | None = None  # None: the committed artefact
    ensemble_horizon: int | None = None  # chunks blended (None: the policy's default, 1: none)


@lru_cache(maxsize=4)
def _loaded(checkpoint: str | None) -> Any:
    from hvla.skills.e2e.checkpoint import load_e2e

    return load_e2e(Path(checkpoint) if checkpoint else None)


@SKILL_POLICIES.register("e2e", config=EndToEndSkillsConfig)
def end_to_end_skills(config: EndToEndSkillsConfig, policy: Any = None):
    """`EndToEndSkills` from `config`; `policy` (a `LoadedE2E`) replaces the checkpoint file."""
    from hvla.skills.e2e.policy import EndToEndSkills
    from hvla.skills.policy.ensemble import EnsembleConfig

    ensemble = EnsembleConfig(horizon=config.ensemble_horizon) if config.ensemble_horizon else None
    return EndToEndSkills(policy or _loaded(config.checkpoint), ensemble)
