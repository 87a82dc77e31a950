"""Scripted expert for push: slide an object over the table onto a target without picking it up.

The closed fingers come down behind the object (on the side away from where it goes), low over the table, and
move in a straight line until the object's centre is there. A plate is pushed rather than lifted by its 2 cm
rim ("push the plate to the front of the stove"); anything that slides can be. Where the straight way is not
clear the push goes in two legs round what is in it (push_route.py), the fingers lifted between them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import ObjectToken, Proprio, Scene
from hvla.skills.scripted.experts import (
    CLOSED_M,
    FAST_MPS,
    SAFE_Z_M,
    SLOW_MPS,
    Phase,
    Target,
    TargetFn,
    _hold,
    _token,
    free_spot,
)
from hvla.skills.scripted.motion import hand_yaw, wrap_grasp_yaw
from hvla.skills.scripted.push_route import PUSH_GEOMETRY, Leg, PushGeometry, contacts, direction, route

PUSH_MPS = 0.08
CLEAR_Z_M = 0.1  # between legs and before the first, the fingers this far above the object's bottom

# Where a leg pushes the object's centre to: a fixed point of the route, or the target as it is now.
LegEnd = Callable[[Scene], NDArray[np.float64]]


def push_phases(obj: str, target: str, scene: Scene | None = None,
                geometry: PushGeometry = PUSH_GEOMETRY) -> list[Phase]:
    """The phases of a push; with the `scene` at its start, round what stands in the straight way."""
    legs: list[tuple[LegEnd, Leg | None]] = [
        (lambda s: np.asarray(_token(s, target).position_m[:2], dtype=np.float64), None)]
    if scene is not None:
        tok, dest = _token(scene, obj), _token(scene, target)
        centre = np.asarray(dest.position_m[:2], dtype=np.float64)
        # To a free spot of the target round what is in the way, else to its centre (what is there is shoved
        # anyway), else shoving loose things on the way, else straight as the target goes.
        spot = free_spot(dest, tok, scene, centre)
        for to, shove in ((spot, False), (centre, False), (spot, True)):
            found = route(scene, tok, dest, to, geometry, shove)
            if found is not None:
                legs = [((lambda s, p=leg.end_xy: p), leg) for leg in found]
                break
    # Rising, lifting and retreating in place, the hand keeps its yaw (no half turn of the wrist for headroom).
    phases = [_closed("rise", _hold(SAFE_Z_M), freeze=True, wrist_headroom_rad=0.0)]
    for i, (end, leg) in enumerate(legs):
        phases += _leg_phases(obj, end, leg, geometry, "" if i == 0 else f"_{i + 1}")
    return [*phases, _closed("retreat", _hold(SAFE_Z_M), tol_m=0.02, freeze=True, wrist_headroom_rad=0.0)]


def _closed(name: str, target: TargetFn, speed_mps: float = FAST_MPS, **kw) -> Phase:
    """A phase of the closed, empty hand: the expert's speed scale applies (nothing held can slip)."""
    return Phase(name, target, CLOSED_M, speed_mps, empty_hand=True, **kw)


def _leg_phases(obj: str, end: LegEnd, leg: Leg | None, geometry: PushGeometry, suffix: str) -> list[Phase]:
    """One leg's phases; `leg` None: straight onto the target as it is, square to the push, from outside."""
    turn_rad = 0.0 if leg is None else leg.hand_turn_rad

    def start(tok: ObjectToken, d: NDArray[np.float64]) -> float:
        return leg.start_m if leg is not None else contacts(tok, d, geometry)[0][1]

    def behind_at(z_of: Callable[[ObjectToken], float]) -> TargetFn:
        """Where the fingers come down behind the object, at the height `z_of` it."""
        def fn(scene: Scene, proprio: Proprio) -> Target:
            tok, goal = _token(scene, obj), end(scene)
            d = direction(np.asarray(tok.position_m[:2], dtype=np.float64), goal)
            xy = tok.position_m[:2] - d * start(tok, d)
            # The hand's x along the push (its narrow side, 3 cm each way, 10 cm along its y, leads and trails),
            # turned where its body would meet what stands beside the way.
            return np.array([xy[0], xy[1], z_of(tok)]), wrap_grasp_yaw(float(np.arctan2(d[1], d[0])) + turn_rad)
        return fn

    def low(tok: ObjectToken) -> float:
        return float(tok.position_m[2] - 0.5 * tok.extent_m[2]) + (geometry.height_m if leg is None else leg.height_m)

    def pushing(scene: Scene, proprio: Proprio) -> Target:
        """Closed loop: the hand goes on by what the object still lacks of the leg's end, sideways too (a plate
        slipping off the fingers is steered back), and the leg is over when the object is there, not the hand."""
        tok, goal = _token(scene, obj), end(scene)
        left = goal - np.asarray(tok.position_m[:2], dtype=np.float64)
        xy = proprio.ee_position_m[:2] + left
        return np.array([xy[0], xy[1], low(tok)]), hand_yaw(proprio.T_world_ee)

    def raised(scene: Scene, proprio: Proprio) -> Target:  # off the object's side, before the next leg
        xyz = proprio.ee_position_m.copy()
        xyz[2] = max(xyz[2], low(_token(scene, obj)) + CLEAR_Z_M)
        return xyz, hand_yaw(proprio.T_world_ee)

    # The first leg starts from the carry height, a later one from just over the object's side.
    over = SAFE_Z_M if not suffix else -np.inf
    lifted = [_closed("lift" + suffix, raised, tol_m=0.015, freeze=True, wrist_headroom_rad=0.0)] if suffix else []
    return [
        *lifted,
        _closed("above" + suffix, behind_at(lambda t: max(over, low(t) + CLEAR_Z_M)), tol_m=0.015, freeze=True),
        # Turned in the air only: coming down and pushing, the hand keeps the yaw it came with.
        _closed("descend" + suffix, behind_at(low), SLOW_MPS * 1.5, tol_m=0.008, freeze=True,
                wrist_headroom_rad=0.0),
        _closed("push" + suffix, pushing, PUSH_MPS, tol_m=0.012, wrist_headroom_rad=0.0),
    ]
