"""A learned policy for the skills it was trained on, another policy for the rest, chosen per subgoal.

LIBERO's drawers, doors and knobs want a hand turned toward them; the object-centric policy outputs a top-down
hand and a yaw, so a hybrid stack on LIBERO runs it for pick, place and push and the scripted experts for the
parts. That split is configured (`LearnedSkillsConfig.fallback`), never silent: `backend` names the policy of
the current subgoal, and without a fallback a skill the checkpoint never learned is a `MessageError`.
"""

from __future__ import annotations

from typing import Any

from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal


class WithFallback:
    """`learned` where the subgoal's skill is one of `learned.skills`, else `fallback`."""

    def __init__(self, learned: Any, fallback: Any) -> None:
        self.learned = learned
        self.fallback = fallback
        self.active = learned
        self.cameras = tuple(dict.fromkeys((*getattr(learned, "cameras", ()), *getattr(fallback, "cameras", ()))))

    @property
    def skills(self) -> frozenset[str]:
        return self.learned.skills

    @property
    def trained_world(self) -> str:
        return self.learned.trained_world

    @property
    def backend(self) -> str:
        """"learned" or "fallback": which policy acts on the current subgoal."""
        return "learned" if self.active is self.learned else "fallback"

    @property
    def anomaly(self) -> float | None:
        return getattr(self.active, "anomaly", None)

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.active = self.learned if subgoal.skill in self.learned.skills else self.fallback
        self.active.reset(scene, subgoal)

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        return self.active.act(scene, proprio)

    def __getattr__(self, name: str) -> Any:  # attention(), phase, onnx_path ...: the acting policy's
        if name in ("learned", "fallback", "active"):
            raise AttributeError(name)
        return getattr(self.active, name)
