"""The `Perception` interface: Observation -> Scene of ObjectTokens in the world frame."""

from __future__ import annotations

from typing import Protocol

from hvla.core.messages import Observation, Scene
from hvla.core.registry import Registry


class Perception(Protocol):
    """Turns camera frames (and, for oracles, simulator truth) into object tokens."""

    cameras: tuple[str, ...]  # the views it needs rendered; () for oracles

    def reset(self) -> None:
        """Forget tracks: a new episode starts."""
        ...

    def perceive(self, obs: Observation) -> Scene: ...


PERCEPTION: Registry[type] = Registry("perception")
