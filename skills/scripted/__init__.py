"""skills/scripted: the closed-loop scripted experts, registered as skill policy "scripted".

Public API:
    ScriptedSkills, PhaseExpert, expert_for
"""

from hvla.skills.scripted.policy import PhaseExpert, ScriptedSkills, ScriptedSkillsConfig, expert_for

__all__ = ["PhaseExpert", "ScriptedSkills", "ScriptedSkillsConfig", "expert_for"]
