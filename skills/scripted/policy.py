"""`ScriptedSkills`: the scripted experts behind the `SkillPolicy` interface (`--skills scripted`)."""

from __future__ import annotations

from hvla.core.errors import MessageError
from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.scripted.experts import PhaseExpert, grasp_phases, pick_phases, place_phases, wipe_phases

SKILL_ARGS = {
    "pick": ("object",),
    "place": ("object", "target"),
    "pick_place": ("object", "target"),
    "wipe": ("tool", "region"),
}


def expert_for(subgoal: Subgoal) -> PhaseExpert:
    args = subgoal.args
    missing = [a for a in SKILL_ARGS.get(subgoal.skill, ()) if a not in args]
    if subgoal.skill not in SKILL_ARGS:
        raise MessageError(f"no scripted expert for skill '{subgoal.skill}'; known: {sorted(SKILL_ARGS)}")
    if missing:
        raise MessageError(f"subgoal {subgoal.describe()} lacks arguments {missing}")
    if subgoal.skill == "pick":
        return PhaseExpert(pick_phases(args["object"]))
    if subgoal.skill == "place":
        return PhaseExpert(place_phases(args["object"], args["target"]))
    if subgoal.skill == "pick_place":
        return PhaseExpert([*grasp_phases(args["object"]), *place_phases(args["object"], args["target"])])
    return PhaseExpert(wipe_phases(args["tool"], args["region"]))


@SKILL_POLICIES.register("scripted")
class ScriptedSkills:
    """Closed-loop experts on ground-truth or perceived tokens; the demonstrators of the learned policy."""

    def __init__(self) -> None:
        self.expert: PhaseExpert | None = None

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.expert = expert_for(subgoal)

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.expert is None:
            raise MessageError("ScriptedSkills.act called before reset(scene, subgoal)")
        return self.expert.act(scene, proprio)

    @property
    def phase(self) -> str:
        return "" if self.expert is None else self.expert.phase.name
