"""skills/scripted: the closed-loop scripted experts, registered as skill policy "scripted".

Public API:
    ScriptedSkills, PhaseExpert, expert_for
"""

from hvla.skills.scripted.policy import PhaseExpert, ScriptedSkills, expert_for

__all__ = ["PhaseExpert", "ScriptedSkills", "expert_for"]
