"""The planner interface: an instruction and the current scene in, a `Plan` (DAG of subgoals) out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hvla.core.messages import Plan, Scene, Subgoal


@runtime_checkable
class Planner(Protocol):
    """Turns an operator's instruction into grounded subgoals for the scene it sees.

    Every implementation keeps the same contract, whatever its backend (rules, sentence embeddings,
    a local LM, an HTTP endpoint): each subgoal's skill is in `hvla.planner.language.vocab.SKILLS` and
    each argument is a scene token's instance name or a fixed choice of that skill's role (the wipe
    region). Bad or unsafe input raises `GroundingError` (or a subclass); nothing is guessed.
    """

    def plan(self, instruction: str, scene: Scene) -> Plan:
        """The whole plan for `instruction`, grounded against `scene`."""
        ...

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        """What is left of `instruction` from the current `scene`, after the subgoals in `done`
        succeeded and `failed` (if any) did not. Called by the executor after a failure."""
        ...
