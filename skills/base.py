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
