"""Candidate steps and plan assembly for the model-backed planners (hf, http).

A language model never writes an action here. The candidates are every skill of `SKILLS` applied to
the scene's objects that can succeed from the simulated state (SayCan's affordance filter); a model
only scores them (hf) or names steps that are then checked against this same vocabulary, the scene and
the feasibility rules (http). Whatever the instruction says, a plan holds registry skills on scene
objects, or the planner raises `GroundingError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hvla.core.messages import ObjectToken, Scene
from hvla.planner.errors import InfeasibleError, describe_token
from hvla.planner.feasibility.affordance import FeasibilityConfig, feasibility
from hvla.planner.feasibility.state import PlanState
from hvla.planner.language.vocab import PICK, PICK_PLACE, PLACE, REGIONS, SKILLS, WIPE
from hvla.planner.ontology import is_graspable, is_receptacle, is_wiping_tool


@dataclass(frozen=True)
class Candidate:
    """One grounded step and SayCan's feasibility value of it from the state it was listed in."""

    skill: str
    args: tuple[tuple[str, str], ...]
    feasibility: float

    @property
    def arg_dict(self) -> dict[str, str]:
        return dict(self.args)

    @property
    def text(self) -> str:
        return step_text(self.skill, self.arg_dict)


def step_text(skill: str, args: dict[str, str]) -> str:
    """The step in plain English, as a language model would write it: "put the banana in the bowl"."""
    if skill == PICK:
        return f"pick up the {args['object']}"
    if skill == PICK_PLACE:
        return f"put the {args['object']} in the {args['target']}"
    if skill == PLACE:
        return f"place the held {args['object']} in the {args['target']}"
    if skill == WIPE:
        return f"wipe the {args['region']} with the {args['tool']}"
    return f"{skill}({', '.join(f'{k}={v}' for k, v in args.items())})"


def scene_lines(scene: Scene) -> list[str]:
    """One line per object for a prompt: "banana: yellow fruit, left, x=0.45 y=0.15 m"."""
    return [
        f"{describe_token(t)} at x={t.position_m[0]:.2f} y={t.position_m[1]:.2f} m"
        for t in scene.tokens
    ]


def _bound(skill: str, args: dict[str, str], scene: Scene) -> dict[str, ObjectToken | str] | None:
    bound: dict[str, ObjectToken | str] = {}
    for role in SKILLS[skill].roles:
        value = args.get(role.name)
        if value is None:
            return None
        if role.choices:
            bound[role.name] = value
        else:
            tok = scene.find(value)
            if tok is None or tok.name != value:
                return None
            bound[role.name] = tok
    return bound


def check(skill: str, args: dict[str, str], state: PlanState, config: FeasibilityConfig) -> float:
    """SayCan's value of a (vocabulary-valid) step from `state`; raises `InfeasibleError` when it is 0."""
    bound = _bound(skill, args, state.scene)
    if bound is None:
        raise InfeasibleError(step_text(skill, args), "its arguments are not objects in the scene")
    target = bound.get("target")
    contents = state.contents(target) if isinstance(target, ObjectToken) else None
    value, reason = feasibility(skill, bound, state.held, config, contents)
    if value <= 0.0:
        raise InfeasibleError(step_text(skill, args), reason)
    return value


def candidates(state: PlanState, config: FeasibilityConfig, exclude: Sequence[Candidate] = ()) -> list[Candidate]:
    """Every step that can succeed from `state` (skills x scene objects), minus the ones in `exclude`."""
    tokens = state.scene.tokens
    grasp = [t.name for t in tokens if is_graspable(t)]
    recep = [t.name for t in tokens if is_receptacle(t)]
    tools = [t.name for t in tokens if is_wiping_tool(t)]
    raw: list[tuple[str, dict[str, str]]] = []
    if state.held is None:
        raw += [(PICK, {"object": o}) for o in grasp]
        raw += [(PICK_PLACE, {"object": o, "target": r}) for o in grasp for r in recep]
        raw += [(WIPE, {"region": REGIONS[0], "tool": t}) for t in tools]
    else:
        raw += [(PLACE, {"object": state.held, "target": r}) for r in recep]
        if state.held in tools:
            raw.append((WIPE, {"region": REGIONS[0], "tool": state.held}))
    seen = {(c.skill, c.args) for c in exclude}
    out = []
    for skill, args in raw:
        key = (skill, tuple(args.items()))
        if key in seen:
            continue
        try:
            value = check(skill, args, state, config)
        except InfeasibleError:
            continue
        out.append(Candidate(skill, key[1], value))
    return out
