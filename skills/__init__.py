"""Skills: scripted experts and learned policies. Importing it registers the built-in implementations
("scripted", "learned", "dagger", "e2e"); torch loads only when a learned policy is built.

Public API:
    SkillPolicy (protocol), SKILL_POLICIES (registry), skill_timeout_s, ScriptedSkills,
    LearnedSkillsConfig, DaggerSkillsConfig, EndToEndSkillsConfig
"""

from hvla.skills.base import SKILL_POLICIES, SkillPolicy, skill_timeout_s
from hvla.skills.e2e import EndToEndSkillsConfig
from hvla.skills.policy import DaggerSkillsConfig, LearnedSkillsConfig
from hvla.skills.scripted import ScriptedSkills

__all__ = [
    "SKILL_POLICIES",
    "DaggerSkillsConfig",
    "EndToEndSkillsConfig",
    "LearnedSkillsConfig",
    "ScriptedSkills",
    "SkillPolicy",
    "skill_timeout_s",
]
