"""`ScriptedSkills`: the scripted experts behind the `SkillPolicy` interface (`--skills scripted`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hvla.core.errors import ConfigError, MessageError
from hvla.core.messages import ActionChunk, ObjectToken, Proprio, Scene, Subgoal
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.scripted.experts import (
    KITCHEN_GRASP,
    GraspConfig,
    PhaseExpert,
    grasp_phases,
    pick_phases,
    place_phases,
    wipe_phases,
)
from hvla.skills.scripted.motion import hand_yaw, straight_chunk
from hvla.skills.scripted.parts import part_phases
from hvla.skills.scripted.push import push_phases

PART_SKILLS = frozenset({"open", "close", "turn_on", "turn_off"})

UNSEEN_PATIENCE_STEPS = 20  # 2 s at 10 Hz
SKILL_ARGS = {
    "pick": ("object",),
    "place": ("object", "target"),
    "pick_place": ("object", "target"),
    "wipe": ("tool", "region"),
    "push": ("object", "target"),
    **dict.fromkeys(("open", "close", "turn_on", "turn_off"), ("object",)),
}


def expert_for(subgoal: Subgoal, grasp: GraspConfig = KITCHEN_GRASP, scene: Scene | None = None,
               speed_scale: float = 1.0) -> PhaseExpert:
    """The scripted expert of `subgoal`. A part skill (open, close, turn on/off) needs the `scene`: the part's
    token says whether it slides or turns. `speed_scale` multiplies every phase's speed."""
    expert = _expert_for(subgoal, grasp, scene)
    expert.speed_scale = speed_scale
    return expert


def _expert_for(subgoal: Subgoal, grasp: GraspConfig, scene: Scene | None) -> PhaseExpert:
    args = subgoal.args
    missing = [a for a in SKILL_ARGS.get(subgoal.skill, ()) if a not in args]
    if subgoal.skill not in SKILL_ARGS:
        raise MessageError(f"no scripted expert for skill '{subgoal.skill}'; known: {sorted(SKILL_ARGS)}")
    if missing:
        raise MessageError(f"subgoal {subgoal.describe()} lacks arguments {missing}")
    if subgoal.skill in PART_SKILLS:
        if scene is None:
            raise MessageError(f"the expert for {subgoal.describe()} needs the scene (which part, how it moves)")
        return PhaseExpert(part_phases(subgoal.skill, args["object"], scene))
    if subgoal.skill == "push":
        return PhaseExpert(push_phases(args["object"], args["target"], scene))
    if subgoal.skill == "pick":
        return PhaseExpert(pick_phases(args["object"], grasp))
    if subgoal.skill == "place":
        return PhaseExpert(place_phases(args["object"], args["target"], grasp))
    if subgoal.skill == "pick_place":
        return PhaseExpert([*grasp_phases(args["object"], grasp), *place_phases(args["object"], args["target"], grasp)])
    return PhaseExpert(wipe_phases(args["tool"], args["region"], grasp=grasp))


@dataclass(frozen=True)
class ScriptedSkillsConfig:
    """The gripper's geometry as the grasps need it (None: the world's own, filled in by the builder; see
    `GraspConfig`): its fingertips relative to its TCP, and how deep below a rim its pads hold a vessel."""

    fingertip_above_tcp_m: float | None = None
    rim_depth_m: float | None = None
    # Every phase's speed times this: the kitchen's demonstrations were recorded at 1; LIBERO's step caps (11 to
    # 26 s an episode, two skills in some) want quicker hands (benchmarks/libero.py --expert-speed).
    speed_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0.2 <= self.speed_scale <= 3.0:
            raise ConfigError(f"speed_scale={self.speed_scale} must be in [0.2, 3] (the safety layer caps the TCP at "
                              "1 m/s)")

    def grasp(self) -> GraspConfig:
        given = {k: v for k, v in (("fingertip_above_tcp_m", self.fingertip_above_tcp_m),
                                   ("rim_depth_m", self.rim_depth_m)) if v is not None}
        return replace(KITCHEN_GRASP, **given)


@SKILL_POLICIES.register("scripted", config=ScriptedSkillsConfig)
class ScriptedSkills:
    """Closed-loop experts on ground-truth or perceived tokens; the demonstrators of the learned policy."""

    def __init__(self, config: ScriptedSkillsConfig | None = None) -> None:
        config = config or ScriptedSkillsConfig()
        self.grasp = config.grasp()
        self.speed_scale = config.speed_scale
        self.expert: PhaseExpert | None = None
        self._last_seen: dict[str, ObjectToken] = {}
        self._unseen_steps = 0

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.expert = expert_for(subgoal, self.grasp, scene, self.speed_scale)
        self._last_seen = {t.name: t for t in scene.tokens}
        self._unseen_steps = 0

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.expert is None:
            raise MessageError("ScriptedSkills.act called before reset(scene, subgoal)")
        try:
            return self.expert.act(self._with_memory(scene), proprio)
        except MessageError:
            # An object not seen yet (hidden in the first frames): hold still a moment, then give up.
            self._unseen_steps += 1
            if self._unseen_steps > UNSEEN_PATIENCE_STEPS:
                raise
            xyz, yaw = proprio.ee_position_m, hand_yaw(proprio.T_world_ee)
            return straight_chunk(xyz, yaw, xyz, yaw, proprio.gripper_m, 0.1)

    def _with_memory(self, scene: Scene) -> Scene:
        """Object permanence: an object missing from this frame (occluded, a missed detection) is where
        it was last seen, as the learned policy's slot memory does; one never seen is still an error."""
        self._last_seen.update((t.name, t) for t in scene.tokens)
        seen = {t.name for t in scene.tokens}
        missing = tuple(t for name, t in self._last_seen.items() if name not in seen)
        return Scene(scene.tokens + missing, scene.observation, scene.flags) if missing else scene

    @property
    def phase(self) -> str:
        return "" if self.expert is None else self.expert.phase.name
