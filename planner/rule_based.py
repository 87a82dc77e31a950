"""The offline rule-based planner: parse, ground, check feasibility, build the plan graph. No model.

    instruction --parse_instruction--> stages of clauses --Grounder--> tokens --check_step--> Plan

Ordering: every step of a stage precedes every step of the next ("A, then B"); inside a stage, steps
are independent ("put the apple and the lemon on the plate") unless they move the same object
("pick up the apple and put it in the bowl"), in which case they keep the order they were said in.
Subgoal ids are "s0", "s1", ... in the order the instruction mentions them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import networkx as nx

from hvla.core.errors import ConfigError, GroundingError
from hvla.core.messages import ObjectToken, Plan, Scene, Subgoal
from hvla.planner.affordance import (
    FeasibilityConfig,
    feasibility,
    is_graspable,
    is_in,
    is_receptacle,
    is_wiping_tool,
    reach_distance_m,
)
from hvla.planner.errors import AmbiguityError, InfeasibleError, ObjectNotFoundError
from hvla.planner.grounding import Grounder, GroundingConfig, LexicalScorer, PhraseScorer
from hvla.planner.lexicon import PLURAL_PRONOUNS, PRONOUNS
from hvla.planner.parsing import Clause, Item, parse_instruction
from hvla.planner.registry import PLANNERS
from hvla.planner.skills_vocab import PICK, PICK_PLACE, PLACE, REGIONS, WIPE, Intent
from hvla.planner.state import PlanState
from hvla.planner.validation import validate_plan


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


@dataclass(frozen=True)
class Step:
    skill: str
    args: tuple[tuple[str, str], ...]
    confidence: float  # language (how well the words fit the grounded objects), in [0, 1]
    moves: frozenset[str]  # instance names this step moves: steps sharing one keep their order
    feasibility: float = 1.0  # SayCan's value of the step from the simulated state, in (0, 1]


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

    def plan(self, instruction: str, scene: Scene) -> Plan:
        """Raises `GroundingError` (or a subclass) for empty, unparseable, ambiguous or infeasible input."""
        steps = self._steps(instruction, scene)
        return self._build(instruction, scene, steps, keep=None)

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        """Plan the instruction again against the current scene and drop the steps already in `done`.

        Ids stay those of the full plan, so "s2" means the same step before and after. A step that
        `done` left half way (a pick whose place is still to come) continues with `place`. `failed` stays
        in the plan when it still grounds; it is retried from the new scene.
        """
        del failed  # re-grounded like every other step that is not done
        steps = self._steps(instruction, scene)
        remaining = Counter((sg.skill, tuple(sorted(sg.args.items()))) for sg in done)
        keep: set[int] = set()
        for k, step in enumerate(s for stage in steps for s in stage):
            key = (step.skill, tuple(sorted(step.args)))
            if remaining[key] > 0:
                remaining[key] -= 1
            else:
                keep.add(k)
        return self._build(instruction, scene, steps, keep=keep)

    # --------------------------------------------------------------------------------- steps per clause

    def _steps(self, instruction: str, scene: Scene) -> list[list[Step]]:
        stages = parse_instruction(instruction, self.config.max_instruction_chars)
        state = PlanState(scene)
        return [[s for clause in stage for s in self._clause_steps(clause, scene, state)] for stage in stages]

    def _reachable(self, tok: ObjectToken) -> bool:
        reach = self.config.feasibility.max_reach_m
        return reach is None or reach_distance_m(tok, self.config.feasibility.base_xy_m) <= reach

    def _checked(self, skill: str, bound: dict, state: PlanState) -> float:
        """SayCan's feasibility value of the step from `state`; raises `InfeasibleError` when it is 0."""
        target = bound.get("target")
        contents = state.contents(target) if isinstance(target, ObjectToken) else None
        value, reason = feasibility(skill, bound, state.held, self.config.feasibility, contents)
        if value <= 0.0:
            step = f"{skill}({', '.join(f'{k}={v if isinstance(v, str) else v.name}' for k, v in bound.items())})"
            raise InfeasibleError(step, reason)
        return value

    def _clause_steps(self, clause: Clause, scene: Scene, state: PlanState) -> list[Step]:
        if clause.intent is Intent.WIPE:
            return [self._wipe_step(clause, scene, state)]
        steps: list[Step] = []
        mentioned: list[ObjectToken] = []
        for item in clause.items:
            steps.extend(self._item_steps(item, scene, state, mentioned))
        state.last = tuple({t.name: t for t in mentioned}.values()) or state.last  # "it": what this clause moved
        return _dedupe(steps)

    def _item_steps(self, item: Item, scene: Scene, state: PlanState, mentioned: list[ObjectToken]) -> list[Step]:
        target, t_conf = None, 1.0
        if item.target is not None:
            if _is_pronoun(item.target):
                raise GroundingError(f"could not ground '{item.target}' as a destination: name the container")
            g = self.grounder.ground(item.target, scene, prefer=is_receptacle, tiebreak=self._reachable)
            if g.plural:
                raise GroundingError(f"'{item.target}': put things into one container at a time")
            target, t_conf = g.tokens[0], g.confidence
        objects, o_conf = self._objects(item.object, scene, state, target)
        steps = []
        for obj in objects:
            if target is None:
                skill, bound = PICK, {"object": obj}
            else:
                skill = PLACE if state.held == obj.name else PICK_PLACE
                bound = {"object": obj, "target": target}
            value = self._checked(skill, bound, state)
            args = tuple((role, tok.name) for role, tok in bound.items())
            state.apply(skill, dict(args))
            steps.append(Step(skill, args, o_conf * t_conf, frozenset({obj.name}), value))
        mentioned.extend(objects)
        return steps

    def _objects(
        self, phrase: str, scene: Scene, state: PlanState, target: ObjectToken | None
    ) -> tuple[list[ObjectToken], float]:
        """(objects, confidence) for an object phrase; pronouns refer to the previous clause's objects."""
        if _is_pronoun(phrase):
            return _resolve_pronoun(phrase, state), 1.0
        exclude = (target.name,) if target is not None else ()
        g = self.grounder.ground(phrase, scene, prefer=is_graspable, exclude=exclude, tiebreak=self._reachable)
        objects = list(g.tokens)
        if g.plural and target is not None:
            # "clear all the fruit into the bowl": what is in the bowl already is cleared.
            objects = [o for o in objects if not is_in(o, target)]
        return objects, g.confidence

    def _wipe_step(self, clause: Clause, scene: Scene, state: PlanState) -> Step:
        if clause.tool is not None and _is_pronoun(clause.tool):
            tools, conf = _resolve_pronoun(clause.tool, state), 1.0
        elif clause.tool is not None:
            g = self.grounder.ground(clause.tool, scene, prefer=is_wiping_tool, tiebreak=self._reachable)
            tools, conf = list(g.tokens), g.confidence
        elif state.held is not None and (held := scene.find(state.held)) is not None and is_wiping_tool(held):
            tools, conf = [held], 1.0  # "pick up the sponge and wipe the counter"
        else:
            tools, conf = [t for t in scene.tokens if is_wiping_tool(t)], 1.0
            if not tools:
                raise ObjectNotFoundError(
                    "something to wipe with", f"'{clause.text}' needs a sponge or cloth", scene.tokens
                )
        if len(tools) > 1:
            raise AmbiguityError(clause.tool or "the thing to wipe with", tools)
        region = clause.region or REGIONS[0]
        value = self._checked(WIPE, {"region": region, "tool": tools[0]}, state)
        state.apply(WIPE, {"region": region, "tool": tools[0].name})
        state.last = (tools[0],)
        return Step(WIPE, (("region", region), ("tool", tools[0].name)), conf, frozenset({tools[0].name}), value)

    # ------------------------------------------------------------------------------------------- graph

    def _build(self, instruction: str, scene: Scene, stages: list[list[Step]], keep: set[int] | None) -> Plan:
        graph = nx.DiGraph()
        ids: list[list[str]] = []
        k = 0
        for stage in stages:
            ids.append([])
            for step in stage:
                sg = Subgoal(f"s{k}", step.skill, dict(step.args), timeout_s=self.config.subgoal_timeout_s)
                graph.add_node(sg.id, subgoal=sg, language=step.confidence, feasibility=step.feasibility)
                ids[-1].append(sg.id)
                k += 1
        flat = [s for stage in stages for s in stage]
        index = {f"s{i}": s for i, s in enumerate(flat)}
        # A stage left with no step ("clear all the fruit" when all is cleared) must not cut the chain.
        chain = [stage_ids for stage_ids in ids if stage_ids]
        for a_ids, b_ids in zip(chain, chain[1:], strict=False):
            graph.add_edges_from((a, b) for a in a_ids for b in b_ids)
        for stage_ids in chain:
            for i, a in enumerate(stage_ids):
                graph.add_edges_from((a, b) for b in stage_ids[i + 1 :] if index[a].moves & index[b].moves)
        if keep is not None:  # replan: drop done steps, keeping the order they implied between the rest
            graph = nx.transitive_closure_dag(graph).subgraph([f"s{i}" for i in sorted(keep)]).copy()
        reduced = nx.transitive_reduction(graph)
        reduced.add_nodes_from(graph.nodes(data=True))
        scores: dict[str, float] = {}
        for n, d in reduced.nodes(data=True):
            scores[n] = float(d["language"] * d["feasibility"])
            scores[f"{n}.language"] = float(d["language"])
            scores[f"{n}.feasibility"] = float(d["feasibility"])
        scores["plan"] = min((scores[n] for n in reduced.nodes), default=1.0)
        plan = Plan(reduced, instruction, scores)
        validate_plan(plan, scene)
        return plan


def _is_pronoun(phrase: str) -> bool:
    return phrase in PRONOUNS or phrase in ("all of them", "both of them", "each of them")


def _resolve_pronoun(phrase: str, state: PlanState) -> list[ObjectToken]:
    """ "it"/"them" -> the objects of the previous clause (a singular pronoun must mean exactly one)."""
    if not state.last:
        raise GroundingError(f"could not ground '{phrase}': it does not refer to anything said before")
    if phrase not in PLURAL_PRONOUNS and not phrase.endswith(" of them") and len(state.last) > 1:
        raise AmbiguityError(phrase, state.last)
    return list(state.last)


def _dedupe(steps: list[Step]) -> list[Step]:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    out = []
    for s in steps:
        if (s.skill, s.args) not in seen:
            seen.add((s.skill, s.args))
            out.append(s)
    return out
