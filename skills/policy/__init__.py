"""skills/policy: the learned skill policy (object-centric transformer), its training and DAgger.

`--skills learned` builds `LearnedSkills` from a `LearnedSkillsConfig` (the committed checkpoint and,
when one is committed, its anomaly detector); `dagger` wraps it for DAgger's roll-outs.

Public API:
    LearnedSkillsConfig, DaggerSkillsConfig (registered as "learned", "dagger")
"""

from hvla.skills.policy.factory import DaggerSkillsConfig, LearnedSkillsConfig

__all__ = ["DaggerSkillsConfig", "LearnedSkillsConfig"]
