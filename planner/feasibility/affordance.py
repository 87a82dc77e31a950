"""Can a step succeed from here? The feasibility half of SayCan's language x feasibility score.

Every backend asks these questions of each grounded step: the object is present and graspable, the
target holds things and has room, both are within reach, the gripper is free. `check_step` raises
`InfeasibleError` saying why not; `feasibility` turns the same checks into SayCan's value in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import ObjectToken
from hvla.planner.errors import InfeasibleError
from hvla.planner.language.vocab import HAND_FREE_SKILLS, PICK, PICK_PLACE, PLACE, SKILLS, WIPE
from hvla.planner.ontology import AFFORDANCES, is_graspable

_WHY_NOT: Mapping[str, str] = {
    "graspable": "it is a container, surface or fixture, not something to pick up",
    "receptacle": "it is not a container (a bowl, plate, cup or the sink) to put things in",
    "wiping_tool": "it is not something to wipe with (a sponge or cloth)",
    "openable": "it is not a drawer or a door (nothing the scene says opens)",
    "switchable": "it has no knob or switch to turn",
}


@dataclass(frozen=True)
class FeasibilityConfig:
    """max_reach_m: horizontal reach from the robot base at `base_xy_m` (Panda: 0.855 m); None disables.

    item_pitch_m: a receptacle holds one fruit-sized item per `item_pitch_m` x `item_pitch_m` of its top
    (a 20 cm bowl or plate: 6, a 9 cm cup: 1); None disables the "container is full" check.
    comfort_margin_m: within this distance of the reach limit the feasibility value falls from 1 to 0.5.
    """

    max_reach_m: float | None = 0.855
    base_xy_m: tuple[float, float] = (0.0, 0.0)
    item_pitch_m: float | None = 0.08
    comfort_margin_m: float = 0.1

    def __post_init__(self) -> None:
        if self.max_reach_m is not None and self.max_reach_m <= 0:
            raise ConfigError(f"max_reach_m={self.max_reach_m} must be > 0")
        if self.item_pitch_m is not None and self.item_pitch_m <= 0:
            raise ConfigError(f"item_pitch_m={self.item_pitch_m} must be > 0")
        if self.comfort_margin_m <= 0:
            raise ConfigError(f"comfort_margin_m={self.comfort_margin_m} must be > 0")


def capacity_items(target: ObjectToken, item_pitch_m: float) -> int:
    """How many fruit-sized items fit in/on `target` (at least one)."""
    return max(1, int(float(target.extent_m[0] * target.extent_m[1]) / item_pitch_m**2))


def is_in(obj: ObjectToken, target: ObjectToken) -> bool:
    """Whether `obj` sits in/on `target` (its centre inside the target's footprint, not below it)."""
    if obj is target or obj.name == target.name:
        return False
    half = target.extent_m / 2
    dxy = abs(obj.position_m[:2] - target.position_m[:2])
    return bool((dxy <= half[:2]).all() and obj.position_m[2] >= target.position_m[2] - half[2])


def contents_of(target: ObjectToken, tokens: Sequence[ObjectToken]) -> list[ObjectToken]:
    """The graspable tokens that already sit in/on `target`."""
    return [t for t in tokens if is_graspable(t) and is_in(t, target)]


def reach_distance_m(tok: ObjectToken, base_xy_m: tuple[float, float] = (0.0, 0.0)) -> float:
    """Horizontal distance from the base to the nearest point of the token's box (a big sink's rim
    can be in reach while its centre is not)."""
    d = np.abs(tok.position_m[:2] - np.asarray(base_xy_m)) - tok.extent_m[:2] / 2
    return float(np.linalg.norm(np.maximum(d, 0.0)))


def check_step(
    skill: str,
    bound: Mapping[str, ObjectToken | str],
    held: str | None,
    config: FeasibilityConfig = FeasibilityConfig(),
    contents: Sequence[ObjectToken] | None = None,
) -> None:
    """Raise `InfeasibleError` unless `skill` with these grounded arguments can succeed now.

    `bound` maps each role to its token (or fixed string for region roles); `held` is the instance
    name the gripper holds before the step, None when free; `contents` are the objects already in/on
    the target (None: not checked).
    """
    spec = SKILLS[skill]
    step = f"{skill}({', '.join(f'{k}={v if isinstance(v, str) else v.name}' for k, v in bound.items())})"
    for role in spec.roles:
        value = bound.get(role.name)
        if value is None:
            raise InfeasibleError(step, f"no {role.name} given")
        if isinstance(value, str):
            if value not in role.choices:
                raise InfeasibleError(step, f"{role.name} must be one of {list(role.choices)}, not '{value}'")
            continue
        if not AFFORDANCES[role.affordance](value):
            raise InfeasibleError(step, f"the {role.name} '{value.name}' won't do: {_WHY_NOT[role.affordance]}")
        if config.max_reach_m is not None:
            dist = reach_distance_m(value, config.base_xy_m)
            if dist > config.max_reach_m:
                raise InfeasibleError(
                    step, f"the {value.name} is out of reach ({dist:.2f} m from the base, reach {config.max_reach_m} m)"
                )
    obj = bound.get("object")
    if isinstance(obj, ObjectToken):
        if obj is bound.get("target"):
            raise InfeasibleError(step, f"cannot put the {obj.name} into itself")
        if skill in (PICK, PICK_PLACE) and held is not None and held != obj.name:
            raise InfeasibleError(step, f"the gripper already holds the {held}; put it somewhere first")
        if skill == PLACE and held != obj.name:
            raise InfeasibleError(step, f"the {obj.name} is not in the gripper (pick it up first)")
    target = bound.get("target")
    if isinstance(target, ObjectToken) and contents is not None and config.item_pitch_m is not None:
        inside = [t.name for t in contents if not (isinstance(obj, ObjectToken) and t.name == obj.name)]
        room = capacity_items(target, config.item_pitch_m)
        if len(inside) >= room:
            raise InfeasibleError(
                step, f"the {target.name} is full: it holds {', '.join(inside)} and has room for {room}"
            )
    if skill in HAND_FREE_SKILLS and held is not None:
        raise InfeasibleError(step, f"the gripper holds the {held}; put it somewhere first, the hand is needed")
    tool = bound.get("tool")
    if skill == WIPE and isinstance(tool, ObjectToken) and held is not None and held != tool.name:
        raise InfeasibleError(step, f"the gripper holds the {held}; put it somewhere before wiping")


def feasibility(
    skill: str,
    bound: Mapping[str, ObjectToken | str],
    held: str | None,
    config: FeasibilityConfig = FeasibilityConfig(),
    contents: Sequence[ObjectToken] | None = None,
) -> tuple[float, str]:
    """SayCan's value of a step: (value in [0, 1], reason when 0). 0 when `check_step` refuses it;
    else 1, falling to 0.5 for an object within `comfort_margin_m` of the reach limit."""
    try:
        check_step(skill, bound, held, config, contents)
    except InfeasibleError as exc:
        return 0.0, exc.reason
    value = 1.0
    if config.max_reach_m is not None:
        for tok in bound.values():
            if isinstance(tok, ObjectToken):
                slack = config.max_reach_m - reach_distance_m(tok, config.base_xy_m)
                value = min(value, 0.5 + 0.5 * min(1.0, slack / config.comfort_margin_m))
    return value, ""
