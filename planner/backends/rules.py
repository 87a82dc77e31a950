"""The offline rule-based planner: parse, ground, check feasibility, build the plan graph. No model.

    instruction --parse_instruction--> stages of clauses --StepBuilder (ground + check)--> steps
                --plan_graph--> Plan

Ordering: every step of a stage precedes every step of the next ("A, then B"); inside a stage, steps
are independent ("put the apple and the lemon on the plate") unless they move the same object
("pick up the apple and put it in the bowl"), in which case they keep the order they were said in.
Subgoal ids are "s0", "s1", ... in the order the instruction mentions them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hvla.core.errors import ConfigError
from hvla.core.messages import Plan, Scene, Subgoal
from hvla.planner.backends.rule_steps import Step, StepBuilder
from hvla.planner.feasibility.affordance import FeasibilityConfig
from hvla.planner.graph import PlannedStep, plan_graph
from hvla.planner.language.grounding import Grounder, GroundingConfig, LexicalScorer, PhraseScorer
from hvla.planner.language.parsing import parse_instruction
from hvla.planner.registry import PLANNERS


@dataclass(frozen=True)
class RuleBasedConfig:
    max_instruction_chars: int = 500  # longer input is refused, not truncated
    subgoal_timeout_s: float | None = None  # None: each skill's own budget (hvla.skills.base.SKILL_TIMEOUT_S)
    grounding: GroundingConfig = field(default_factory=GroundingConfig)
    feasibility: FeasibilityConfig = field(default_factory=FeasibilityConfig)

    def __post_init__(self) -> None:
        if self.max_instruction_chars <= 0:
            raise ConfigError(f"max_instruction_chars={self.max_instruction_chars} must be > 0")
        if self.subgoal_timeout_s is not None and self.subgoal_timeout_s <= 0:
            raise ConfigError(f"subgoal_timeout_s={self.subgoal_timeout_s} must be > 0")


@PLANNERS.register("rules", config=RuleBasedConfig)
class RuleBasedPlanner:
    """Offline planner from hand-written rules: fast (well under 1 ms per instruction) and predictable.

    `scorer` replaces the lexical phrase matcher (e.g. with sentence embeddings) without touching
    parsing, ordering or the feasibility checks. Plan scores: per subgoal id the SayCan product of
    language and feasibility, plus `<id>.language` and `<id>.feasibility`; `plan` is the lowest product.
    """

    def __init__(self, config: RuleBasedConfig | None = None, scorer: PhraseScorer | None = None) -> None:
        self.config = config or RuleBasedConfig()
        self.grounder = Grounder(scorer or LexicalScorer(), self.config.grounding)
        self.builder = StepBuilder(self.grounder, self.config.feasibility)

    def plan(self, instruction: str, scene: Scene) -> Plan:
        """Raises `GroundingError` (or a subclass) for empty, unparseable, ambiguous or infeasible input."""
        return self._graph(instruction, scene, self.steps(instruction, scene), keep=None)

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        """Plan the instruction again against the current scene and drop the steps already in `done`.

        Ids stay those of the full plan, so "s2" means the same step before and after. A step that
        `done` left half way (a pick whose place is still to come) continues with `place`. `failed` stays
        in the plan when it still grounds; it is retried from the new scene.
        """
        del failed  # re-grounded like every other step that is not done
        stages = self.steps(instruction, scene)
        remaining = Counter((sg.skill, tuple(sorted(sg.args.items()))) for sg in done)
        keep: set[int] = set()
        for k, step in enumerate(s for stage in stages for s in stage):
            key = (step.skill, tuple(sorted(step.args)))
            if remaining[key] > 0:
                remaining[key] -= 1
            else:
                keep.add(k)
        return self._graph(instruction, scene, stages, keep=keep)

    def steps(self, instruction: str, scene: Scene) -> list[list[Step]]:
        """The grounded, checked steps of `instruction`, stage by stage (the one stage a backend may change)."""
        return self.builder.build(parse_instruction(instruction, self.config.max_instruction_chars), scene)

    def _graph(self, instruction: str, scene: Scene, stages: list[list[Step]], keep: set[int] | None) -> Plan:
        flat = [s for stage in stages for s in stage]
        index, k = [], 0
        for stage in stages:
            index.append(list(range(k, k + len(stage))))
            k += len(stage)
        # A stage left with no step ("clear all the fruit" when all is cleared) must not cut the chain.
        chain = [ids for ids in index if ids]
        edges = [(a, b) for before, after in zip(chain, chain[1:], strict=False) for a in before for b in after]
        edges += [(a, b) for ids in chain for i, a in enumerate(ids) for b in ids[i + 1:]
                  if flat[a].moves & flat[b].moves]
        planned = [PlannedStep(s.skill, s.args, s.confidence, s.feasibility) for s in flat]
        return plan_graph(instruction, scene, planned, edges, keep=keep, timeout_s=self.config.subgoal_timeout_s)
