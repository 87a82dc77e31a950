"""Where a push goes: straight to its target, or in two legs round what stands in the way.

A push needs room twice: for the closed fingers to come down behind the object (the hand's body is 21 cm long
across the push) and for the object and the trailing hand to slide along the way. A straight line can have
neither (libero_goal "push the plate to the front of the stove": coming down behind the plate, the hand lands
on the cabinet's drawer handles; on the way the plate would shove the cream cheese). The route is then an L:
the object pushed to a corner point first, then from there to the target, the corner chosen as the shortest
route whose every leg is clear of everything standing above the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import ObjectToken, Scene
from hvla.skills.scripted.clearance import HAND_HALF_SPAN_M
from hvla.skills.scripted.motion import about_z

SUPPORT_TOL_M = 0.005  # a thing whose top is this close to the object's bottom carries it: not in the way
FINGERS_HALF_SPAN_M = np.array([0.012, 0.015])  # the closed fingers from above: along the push, across it
PALM_ABOVE_TCP_M = 0.045  # the hand's body starts this far above the fingertips: lower things meet only the fingers
CLEAR_MARGIN_M = 0.01  # the fingers and the object stay this far from what is in the way ...
PALM_MARGIN_M = 0.015  # ... the hand's body this far (its mesh is rounder than its box)
MAX_REACH_M = 0.76  # the hand, pointing down at table height, stays this close to the base (at the world's origin)
HAND_TURNS_RAD = np.radians([0, 20, -20, 40, -40, 60, -60, 90])  # the hand's turns from square to the push, tried
DISH_HEIGHT_M, DISH_WIDTH_M = 0.03, 0.1  # lower and wider than this: a dish (pushed from inside its rim too)
DISH_FLATNESS = 0.2  # ... and at most this high for its width (a book lying flat is thicker)
DISH_RIM_M = 0.015  # ... with the fingers this far inside its outer edge ...
DISH_PRESS_M = 0.003  # ... and the TCP this low: the fingertips press on its floor, which drags it along
SWEEP_STEP_M = 0.02  # the way is checked at points this far apart
CORNER_GRID_M = 0.03  # corner points are tried on a grid this fine ...
CORNER_REACH_M = 0.2  # ... reaching this far beyond the object and the target


@dataclass(frozen=True)
class PushGeometry:
    """How the hand meets the object: the object's reach from its centre along the push is added per leg."""

    finger_half_m: float = 0.01  # the closed fingers' half thickness along the push
    start_gap_m: float = 0.01  # the fingers come down this far behind the object
    height_m: float = 0.008  # the TCP this far above the object's bottom: low on its side, clear of the table


PUSH_GEOMETRY = PushGeometry()


def reach(obj: ObjectToken, d: NDArray[np.float64]) -> float:
    """How far the object reaches from its centre along the horizontal direction d: to the ellipse inside its
    box (a plate is round: its box's corner, along a diagonal, is 2 cm further out than its rim)."""
    return 0.5 * float(np.linalg.norm(np.abs(obj.extent_m[:2]) * d))


def direction(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    d = np.asarray(b[:2] - a[:2], dtype=np.float64)
    n = float(np.linalg.norm(d))
    return d / n if n > 1e-6 else np.array([1.0, 0.0])


def in_the_way(scene: Scene, obj: ObjectToken, target: ObjectToken) -> list[ObjectToken]:
    """What stands above the object's bottom (a cabinet, a bowl, a box): the things a low hand or the sliding
    object would run into. The object's support and the target are not."""
    bottom = float(obj.position_m[2] - 0.5 * obj.extent_m[2])
    return [t for t in scene.tokens if t.name not in (obj.name, target.name)
            and float(t.position_m[2] + 0.5 * t.extent_m[2]) > bottom + SUPPORT_TOL_M]


def _boxes(tokens: list[ObjectToken]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(N, 2) centres and half sizes of the tokens' footprints."""
    if not tokens:
        return np.zeros((0, 2)), np.zeros((0, 2))
    return (np.array([t.position_m[:2] for t in tokens], dtype=np.float64),
            np.array([0.5 * np.abs(t.extent_m[:2]) for t in tokens], dtype=np.float64))


def hand_hits(centres: NDArray[np.float64], d: NDArray[np.float64], boxes: tuple[NDArray, NDArray],
              half: NDArray[np.float64] = HAND_HALF_SPAN_M, margin_m: float = PALM_MARGIN_M) -> NDArray:
    """(M,) whether a footprint of `half` size (along the push d, across it; the hand's body by default) at each
    of `centres` (M, 2) overlaps one of `boxes` (grown by `margin_m`): the separating-axis test of a turned
    rectangle and upright boxes."""
    c, h = boxes
    if len(c) == 0:
        return np.zeros(len(centres), dtype=bool)
    h = h + margin_m
    axes = np.stack([d, np.array([-d[1], d[0]])])  # the hand's axes: along the push, along its fingers
    rel = c[None, :, :] - centres[:, None, :]  # (M, N, 2)
    hand_world_half = np.abs(axes.T) @ half  # the hand's half size along world x, y
    apart = np.any(np.abs(rel) > h[None] + hand_world_half, axis=-1)
    for k in range(2):  # along the hand's own axes: the box's half size projected on each
        box_half = h @ np.abs(axes[k])
        apart |= np.abs(rel @ axes[k]) > box_half[None] + half[k]
    return ~np.all(apart, axis=1)


def object_hits(centres: NDArray[np.float64], radius_m: float, boxes: tuple[NDArray, NDArray]) -> NDArray:
    """(M,) whether a disc of `radius_m` at each of `centres` overlaps one of `boxes` (grown by the margin)."""
    c, h = boxes
    if len(c) == 0:
        return np.zeros(len(centres), dtype=bool)
    gap = np.maximum(np.abs(c[None] - centres[:, None]) - h[None], 0.0)
    return np.any(np.linalg.norm(gap, axis=-1) < radius_m + CLEAR_MARGIN_M, axis=1)


@dataclass(frozen=True)
class Obstacles:
    """What a push can run into, as footprint boxes (centres, half sizes): things tall enough to meet the hand's
    body, things only the low fingers meet, and things in the sliding object's way."""

    palm: tuple[NDArray[np.float64], NDArray[np.float64]]
    fingers: tuple[NDArray[np.float64], NDArray[np.float64]]
    sliding: tuple[NDArray[np.float64], NDArray[np.float64]]


def obstacles(scene: Scene, obj: ObjectToken, target: ObjectToken, b: NDArray[np.float64],
              geometry: PushGeometry, shove: bool = False) -> Obstacles:
    """The obstacles of pushing `obj` onto `target` at `b`. What already touches the object where it stands, or
    would where it goes (the region's neighbour), is not in the sliding object's way: that cannot be helped.
    `shove`: low loose things (a box of cream cheese in the way) may be pushed aside by the object and the
    fingers; fixtures and what is tall enough to meet the hand's body never."""
    blocking = in_the_way(scene, obj, target)
    palm_z = float(obj.position_m[2] - 0.5 * obj.extent_m[2]) + geometry.height_m + PALM_ABOVE_TCP_M
    radius = _radius(obj)
    ends = np.stack([np.asarray(obj.position_m[:2], dtype=np.float64), b])
    return Obstacles(
        palm=_boxes([t for t in blocking if float(t.position_m[2] + 0.5 * t.extent_m[2]) > palm_z]),
        fingers=_boxes([t for t in blocking if not (shove and t.category != "fixture")]),
        sliding=_boxes([t for t in blocking if not np.any(object_hits(ends, radius, _boxes([t])))
                        and not (shove and t.category != "fixture")]),
    )


@dataclass(frozen=True)
class Leg:
    """One straight push: where the object's centre goes (2,), the hand's turn from square to the push, and how far
    behind the object's centre the fingers push and come down (contacts())."""

    end_xy: NDArray[np.float64]
    hand_turn_rad: float
    contact_m: float
    start_m: float
    height_m: float  # the TCP above the object's bottom


def is_dish(obj: ObjectToken) -> bool:
    """A plate or a tray (by its shape: LIBERO calls a plate an object, the kitchen a container): wide, with a rim
    too low for the hand's body, so the fingers can push it from inside."""
    width, height = float(min(np.abs(obj.extent_m[:2]))), float(obj.extent_m[2])
    return obj.category != "fixture" and height < DISH_HEIGHT_M and width > DISH_WIDTH_M and \
        height < DISH_FLATNESS * width


def contacts(obj: ObjectToken, d: NDArray[np.float64],
             geometry: PushGeometry) -> list[tuple[float, float, float]]:
    """Where the fingers push, as (contact, start, height): how far behind the object's centre along the push the
    fingers' centre is while pushing, where it comes down, and the TCP's height above the object's bottom, in the
    order to try. Outside its near side; for a dish also inside its near rim, which needs no room beside it (a
    plate against a cabinet's handles)."""
    r = reach(obj, d)
    outside = r + geometry.finger_half_m
    found = [(outside, outside + geometry.start_gap_m, geometry.height_m)]
    if is_dish(obj):  # else, for a dish, from inside its near rim: the fingers on its floor drag it along
        inside = r - DISH_RIM_M - geometry.finger_half_m
        found.append((inside, inside - geometry.start_gap_m, DISH_PRESS_M))
    return found


def _leg(a: NDArray, b: NDArray, obj: ObjectToken, geometry: PushGeometry, obs: Obstacles) -> Leg | None:
    """How the object is pushed from a to b: the fingers come down behind it and trail it to b, the hand turned
    from square to the push as far as keeps it clear (only the fingers meet the object, so its 21 cm body may
    turn out of the way of a cabinet beside it); None when no way of doing it is clear."""
    d = direction(a, b)
    n = max(int(np.ceil(np.linalg.norm(b - a) / SWEEP_STEP_M)), 1)
    along = a[None] + np.linspace(0.0, 1.0, n + 1)[:, None] * (b - a)[None]
    if bool(np.any(object_hits(along[1:], _radius(obj), obs.sliding))):
        return None
    for contact, start, height in contacts(obj, d, geometry):
        hands = np.vstack([(a - d * start)[None], along - d * contact])
        if bool(np.any(np.linalg.norm(hands, axis=1) > MAX_REACH_M)) or \
                bool(np.any(hand_hits(hands, d, obs.fingers, FINGERS_HALF_SPAN_M, CLEAR_MARGIN_M))):
            continue
        for turn in HAND_TURNS_RAD:
            if not bool(np.any(hand_hits(hands, about_z(float(turn))[:2, :2] @ d, obs.palm))):
                return Leg(b, float(turn), contact, start, height)
    return None


def _radius(obj: ObjectToken) -> float:
    return 0.5 * float(np.mean(np.abs(obj.extent_m[:2])))


def route(scene: Scene, obj: ObjectToken, target: ObjectToken, to_xy: NDArray[np.float64] | None = None,
          geometry: PushGeometry | None = None, shove: bool = False) -> list[Leg] | None:
    """The legs of the push, `to_xy` the last one's end (the target's centre by default): one straight leg when
    that is clear, else the two of the shortest clear L, every hand position in reach; None when no route is.
    `shove`: see obstacles()."""
    geometry = geometry or PUSH_GEOMETRY
    a = np.asarray(obj.position_m[:2], dtype=np.float64)
    b = np.asarray(target.position_m[:2] if to_xy is None else to_xy, dtype=np.float64)
    obs = obstacles(scene, obj, target, b, geometry, shove)
    straight = _leg(a, b, obj, geometry, obs)
    if straight is not None:
        return [straight]
    lo = np.minimum(a, b) - CORNER_REACH_M
    hi = np.maximum(a, b) + CORNER_REACH_M
    corners = np.array([(x, y) for x in np.arange(lo[0], hi[0] + 1e-9, CORNER_GRID_M)
                        for y in np.arange(lo[1], hi[1] + 1e-9, CORNER_GRID_M)])
    cost = np.linalg.norm(corners - a, axis=1) + np.linalg.norm(corners - b, axis=1)
    for i in np.argsort(cost, kind="stable"):
        m = corners[i]
        first = _leg(a, m, obj, geometry, obs)
        second = _leg(m, b, obj, geometry, obs) if first is not None else None
        if first is not None and second is not None:
            return [first, second]
    return None
