"""The kitchen's success check per skill: simulator truth where the observation has it, else perceived tokens.

`KitchenWorld.succeeded` is this check; the executor asks the world, never this module.
"""

from __future__ import annotations

import numpy as np

from hvla.core.messages import Scene, Subgoal
from hvla.sim import predicates

LIFTED_Z_M = 0.06  # a picked object's centre must be this high above the table
WIPED_FRACTION = 0.9


def skill_succeeded(subgoal: Subgoal, scene: Scene) -> bool:
    """Whether `subgoal`'s skill has done its job in `scene`."""
    truth = scene.observation.truth
    args = subgoal.args
    if truth is None:
        return _from_tokens(subgoal, scene)
    if subgoal.skill == "pick":
        obj = truth.object(args["object"])
        return truth.grasped == obj.name and obj.position_m[2] > LIFTED_Z_M
    if subgoal.skill in ("place", "pick_place"):
        return predicates.is_in(truth, args["object"], args["target"]) and truth.grasped is None
    if subgoal.skill == "wipe":
        return predicates.wiped(truth) >= WIPED_FRACTION and truth.grasped is None
    return False


def _from_tokens(subgoal: Subgoal, scene: Scene) -> bool:
    """A real robot has no truth: judge from perceived positions (coarser, but the same rules)."""
    args = subgoal.args
    obj = scene.find(args.get("object", ""))
    if subgoal.skill == "pick":
        return obj is not None and obj.position_m[2] > LIFTED_Z_M
    if subgoal.skill in ("place", "pick_place"):
        dest = scene.find(args.get("target", ""))
        if obj is None or dest is None:
            return False
        radius = 0.5 * min(dest.extent_m[:2])
        return bool(np.linalg.norm(obj.position_m[:2] - dest.position_m[:2]) < radius)
    return False
