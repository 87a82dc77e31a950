"""Getting a grasped thing out from under what overhangs it before it is lifted.

An open drawer can reach over a bowl standing in front of its cabinet (LIBERO: the drawer's floor 10 cm above
the bowl's rim, the hand's body, 20 cm long along the fingers, half under it). Lifted straight up, the hand's
far end presses against the drawer's underside, the hand tips and the bowl slides out of the pads. Dragged
sideways first, along the shortest way out, the hand and the bowl rise clear of it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import ObjectToken, Scene
from hvla.skills.scripted.joints import outward
from hvla.skills.scripted.motion import about_z

HAND_HALF_SPAN_M = np.array([0.035, 0.105])  # the Panda hand's body from above: across, along its fingers
OVERHANG_MARGIN_M = 0.015  # the footprints stay this far apart (the hand's mesh, a drawer's handle)
MAX_SLIDE_M = 0.15  # farther than this, dragging is worse than trying to lift as it is
DIRECTIONS = 16  # candidate ways out, evenly around
ACROSS_PADS_COST = 1.0  # a way out along the fingers counts this much longer per metre


def _footprint(centre: NDArray[np.float64], half: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    return centre - half, centre + half


def overhangs(scene: Scene, held: ObjectToken) -> list[ObjectToken]:
    """The things whose underside is above the held thing's top (a drawer pulled out over it): what a straight
    lift would run into where their footprints overlap."""
    top = float(held.position_m[2] + 0.5 * held.extent_m[2])
    return [t for t in scene.tokens if t.name != held.name
            and float(t.position_m[2] - 0.5 * t.extent_m[2]) > top - 0.005]


def slide_out(scene: Scene, held: ObjectToken, hand_xy: NDArray[np.float64], yaw_rad: float) -> NDArray[np.float64]:
    """The shortest horizontal shift [m] (2,) that takes both the hand's body (at `hand_xy`, turned by `yaw_rad`)
    and the held thing's box clear of everything overhanging them; zero when nothing does, or when the way out is
    longer than `MAX_SLIDE_M`."""
    above = overhangs(scene, held)
    hand_half = np.abs(about_z(yaw_rad)[:2, :2]) @ HAND_HALF_SPAN_M
    held_half = 0.5 * np.asarray(held.extent_m[:2], dtype=np.float64)
    held_xy = np.asarray(held.position_m[:2], dtype=np.float64)

    def hits(shift: NDArray[np.float64]) -> bool:
        for t in above:
            lo, hi = _footprint(np.asarray(t.position_m[:2]), 0.5 * np.asarray(t.extent_m[:2]) + OVERHANG_MARGIN_M)
            for c, h in ((hand_xy + shift, hand_half), (held_xy + shift, held_half)):
                if bool(np.all(c + h > lo) and np.all(c - h < hi)):
                    return True
        return False

    zero = np.zeros(2)
    if not above or not hits(zero):
        return zero
    # Along the wall the pads hold (the hand's x) rather than across it: dragged along the fingers' closing line,
    # a bowl held by its rim slips in the pads and tips out during the carry (libero_goal task 3, measured).
    fingers = about_z(yaw_rad)[:2, 1]
    best, best_cost = zero, np.inf
    for a in np.linspace(0.0, 2 * np.pi, DIRECTIONS, endpoint=False):
        way = np.array([np.cos(a), np.sin(a)])
        cost_per_m = 1.0 + ACROSS_PADS_COST * abs(float(way @ fingers))
        for dist in np.arange(0.01, MAX_SLIDE_M + 1e-9, 0.005):
            if dist * cost_per_m >= best_cost:
                break
            if not hits(dist * way):
                best, best_cost = dist * way, dist * cost_per_m
                break
    return best


# --- Where the fingers land on a vessel held by its rim ---------------------------------------------------------

FINGER_ROOM_M = 0.025  # an open finger's centre stays this far inside a drawer's box: its pad, the wall, a margin
RIM_TURNS_RAD = np.radians(np.arange(0, 91, 15))  # the side a rim is held on turns this far from facing the base


def drawer_holding(scene: Scene, tok: ObjectToken) -> ObjectToken | None:
    """The drawer `tok` stands in (a part that slides, whose box holds its centre and its bottom), if any."""
    bottom = float(tok.position_m[2] - 0.5 * tok.extent_m[2])
    for t in scene.tokens:
        a = t.articulation
        if a is None or a.kind != "slide" or t.name == tok.name:
            continue
        lo, hi = t.position_m - 0.5 * t.extent_m, t.position_m + 0.5 * t.extent_m
        if bool(np.all(tok.position_m[:2] > lo[:2]) and np.all(tok.position_m[:2] < hi[:2])) and \
                lo[2] - 0.01 <= bottom <= hi[2]:
            return t
    return None


def drawer_frame(drawer: ObjectToken) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The drawer's own horizontal axes (outward, across) and its size along them [m] (2,): the token's box is
    world-aligned, so a drawer turned on its cabinet (LIBERO turns cabinets) has a larger one; undone here from the
    slide's direction (e = |R| s in the plane)."""
    d = outward(drawer.articulation)[:2]
    across = np.array([-d[1], d[0]])
    c, s = abs(float(d[0])), abs(float(d[1]))
    e = np.asarray(drawer.extent_m[:2], dtype=np.float64)
    det = c * c - s * s
    if abs(det) < 0.2:  # near 45 degrees the box says little: take the smaller side both ways
        size = np.full(2, float(min(e)))
    else:  # e_x = c s_out + s s_across, e_y = s s_out + c s_across
        size = np.array([(c * e[0] - s * e[1]) / det, (c * e[1] - s * e[0]) / det])
    return d, across, np.maximum(size, 0.0)


def rim_side(scene: Scene | None, tok: ObjectToken, toward_base: NDArray[np.float64], finger_reach_m: float,
             front_wall_m: float) -> NDArray[np.float64]:
    """The direction (2,) from a vessel's centre to the point of its rim the hand holds: facing the base, unless the
    outer finger, `finger_reach_m` out from the centre, would come down on the wall of the drawer the vessel stands
    in (a bowl beside a drawer's side wall: the finger sat on the wall's top 2 cm above the grasp); then the least
    turn from the base that keeps it inside (`front_wall_m`: the drawer's front wall and handle)."""
    drawer = drawer_holding(scene, tok) if scene is not None else None
    if drawer is None:
        return toward_base
    out, across, size = drawer_frame(drawer)
    rel = np.asarray(tok.position_m[:2] - drawer.position_m[:2], dtype=np.float64)
    base_angle = float(np.arctan2(toward_base[1], toward_base[0]))
    half = 0.5 * size - FINGER_ROOM_M
    for turn in sorted({s * t for t in RIM_TURNS_RAD for s in (1.0, -1.0)}, key=lambda t: (abs(t), t)):
        d = np.array([np.cos(base_angle + turn), np.sin(base_angle + turn)])
        finger = rel + finger_reach_m * d
        along, side = float(finger @ out), float(finger @ across)
        if abs(side) <= half[1] and -half[0] <= along <= half[0] - front_wall_m:
            return d
    return toward_base
