"""The `SkillPolicy` interface: (scene, proprio, subgoal) -> ActionChunk, closed loop at 10 Hz."""

from __future__ import annotations

from typing import Protocol

from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal
from hvla.core.registry import Registry


class SkillPolicy(Protocol):
    """Turns the current scene into the next chunk of end-effector waypoints for one subgoal."""

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        """Start `subgoal` from `scene`; forget everything about the previous one."""
        ...

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        """The next chunk of waypoints; called once per control cycle."""
        ...


SKILL_POLICIES: Registry[type] = Registry("skills")

# Simulated-time budget per skill when a subgoal sets none: about twice the scripted expert's time.
SKILL_TIMEOUT_S: dict[str, float] = {"pick": 15.0, "place": 20.0, "pick_place": 25.0, "wipe": 45.0}
DEFAULT_TIMEOUT_S = 30.0


def skill_timeout_s(skill: str, requested_s: float | None) -> float:
    return requested_s if requested_s is not None else SKILL_TIMEOUT_S.get(skill, DEFAULT_TIMEOUT_S)
