"""Clauses -> grounded, checked steps: the rules' middle stage (language in, SayCan-scored steps out).

Each clause's phrases are grounded in the scene's tokens (`Grounder`), each step is checked against
the plan state so far (`feasibility`), and the state advances as if the step had run, so "put it in
the bowl" after "pick up the apple" is a place, and a full bowl refuses a third fruit.
"""

from __future__ import annotations

from dataclasses import dataclass

from hvla.core.errors import GroundingError
from hvla.core.messages import ObjectToken, Scene
from hvla.planner.errors import AmbiguityError, InfeasibleError, ObjectNotFoundError
from hvla.planner.feasibility.affordance import FeasibilityConfig, feasibility, is_in, reach_distance_m
from hvla.planner.feasibility.state import PlanState
from hvla.planner.language.grounding import Grounder
from hvla.planner.language.lexicon import PLURAL_PRONOUNS, PRONOUNS
from hvla.planner.language.parsing import Clause, Item
from hvla.planner.language.vocab import (
    PART_SKILL_OF,
    PICK,
    PICK_PLACE,
    PLACE,
    PUSH,
    REGIONS,
    TURN_OFF,
    TURN_ON,
    WIPE,
    Intent,
)
from hvla.planner.ontology import is_graspable, is_openable, is_receptacle, is_switchable, is_wiping_tool


@dataclass(frozen=True)
class Step:
    skill: str
    args: tuple[tuple[str, str], ...]
    confidence: float  # language (how well the words fit the grounded objects), in [0, 1]
    moves: frozenset[str]  # instance names this step moves: steps sharing one keep their order
    feasibility: float = 1.0  # SayCan's value of the step from the simulated state, in (0, 1]


class StepBuilder:
    """Grounds and checks the clauses of one instruction, stage by stage, against one scene."""

    def __init__(self, grounder: Grounder, feasibility_config: FeasibilityConfig) -> None:
        self.grounder = grounder
        self.feasibility = feasibility_config

    def build(self, stages: list[list[Clause]], scene: Scene) -> list[list[Step]]:
        state = PlanState(scene)
        return [[s for clause in stage for s in self._clause_steps(clause, scene, state)] for stage in stages]

    def _reachable(self, tok: ObjectToken) -> bool:
        reach = self.feasibility.max_reach_m
        return reach is None or reach_distance_m(tok, self.feasibility.base_xy_m) <= reach

    def _checked(self, skill: str, bound: dict, state: PlanState) -> float:
        """SayCan's feasibility value of the step from `state`; raises `InfeasibleError` when it is 0."""
        target = bound.get("target")
        contents = state.contents(target) if isinstance(target, ObjectToken) else None
        value, reason = feasibility(skill, bound, state.held, self.feasibility, contents)
        if value <= 0.0:
            step = f"{skill}({', '.join(f'{k}={v if isinstance(v, str) else v.name}' for k, v in bound.items())})"
            raise InfeasibleError(step, reason)
        return value

    def _clause_steps(self, clause: Clause, scene: Scene, state: PlanState) -> list[Step]:
        if clause.intent is Intent.WIPE:
            return [self._wipe_step(clause, scene, state)]
        if clause.intent in PART_SKILL_OF:
            return [self._part_step(clause, item, scene, state) for item in clause.items]
        steps: list[Step] = []
        mentioned: list[ObjectToken] = []
        targets: list[ObjectToken] = []
        for item in clause.items:
            steps.extend(self._item_steps(item, scene, state, mentioned, targets, clause.intent))
        state.last = tuple({t.name: t for t in mentioned}.values()) or state.last  # "it": what this clause moved
        state.last_targets = tuple({t.name: t for t in targets}.values())
        return _dedupe(steps)

    def _part_step(self, clause: Clause, item: Item, scene: Scene, state: PlanState) -> Step:
        """open / close / turn on / turn off one drawer, door or knob. "it" is what the clause before named
        that can do it: "put the bowl in the drawer and close it" closes the drawer, not the bowl."""
        skill = PART_SKILL_OF[clause.intent]
        affords = is_switchable if skill in (TURN_ON, TURN_OFF) else is_openable
        if _is_pronoun(item.object):
            named = [t for t in (*state.last, *state.last_targets) if affords(t)]
            if not named:
                raise GroundingError(f"could not ground '{item.object}' in '{clause.text}': nothing named before "
                                     f"it can be {clause.verb.replace('_', ' ')}ed; name the drawer, door or knob")
            part, conf = named[0], 1.0
        else:
            g = self.grounder.ground(item.object, scene, prefer=affords, tiebreak=self._reachable)
            if g.plural:
                raise GroundingError(f"'{item.object}': {clause.verb} one thing at a time")
            part, conf = g.tokens[0], g.confidence
        value = self._checked(skill, {"object": part}, state)
        state.last, state.last_targets = (part,), ()
        return Step(skill, (("object", part.name),), conf, frozenset({part.name}), value)

    def _pronoun_target(self, phrase: str, state: PlanState) -> ObjectToken:
        """ "put the bowl inside" / "put the moka pot on it": the receptacle the clause before named."""
        named = [t for t in (*state.last, *state.last_targets) if is_receptacle(t)]
        if not named:
            raise GroundingError(f"could not ground '{phrase}' as a destination: nothing named before it is a "
                                 "container or surface; name the container")
        return named[0]

    def _item_steps(self, item: Item, scene: Scene, state: PlanState, mentioned: list[ObjectToken],
                    targets: list[ObjectToken], intent: Intent = Intent.PUT) -> list[Step]:
        target, t_conf = None, 1.0
        if item.target is not None:
            if _is_pronoun(item.target):
                target = self._pronoun_target(item.target, state)
            else:
                g = self.grounder.ground(item.target, scene, prefer=is_receptacle, tiebreak=self._reachable)
                if g.plural:
                    raise GroundingError(f"'{item.target}': put things into one container at a time")
                target, t_conf = g.tokens[0], g.confidence
            targets.append(target)
        objects, o_conf = self._objects(item.object, scene, state, target)
        steps = []
        for obj in objects:
            if target is None:
                skill, bound = PICK, {"object": obj}
            else:
                skill = PUSH if intent is Intent.PUSH else PLACE if state.held == obj.name else PICK_PLACE
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
