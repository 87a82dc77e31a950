"""Scripted experts for parts that move on a joint: open and close a drawer, turn a knob on and off.

They read the part's token and its `Articulation` (how the part moves, from perception or the simulator):
the opening direction and how far the joint must travel, never a scene's coordinates. Three motions:

- close a drawer: a top-down hand, fingers shut, comes down in front of the drawer's face and pushes it in
  with the front of the hand until the joint is past "closed" (LIBERO counts a drawer closed only once it is
  pushed in beyond its rest position);
- open a drawer: the hand turns to point into the drawer's face, fingers closing up and down around the
  handle bar at the face's centre, and pulls along the slide. A top-down hand cannot: its body, 10 cm to
  either side of the fingers, would hit the cabinet above the handle;
- turn a knob: a top-down grasp on the knob at its axis, then the hand twists about that axis by the angle
  the joint must turn, starting from half that angle the other way so the wrist stays mid-range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import MessageError
from hvla.core.messages import Articulation, ObjectToken, Proprio, Scene
from hvla.skills.scripted.experts import (
    CLOSED_M,
    OPEN_M,
    SAFE_Z_M,
    SLOW_MPS,
    Phase,
    Target,
    TargetFn,
    _hold,
    _token,
)
from hvla.skills.scripted.joints import face_along, outward, target_q
from hvla.skills.scripted.motion import about_z, down_matrix, facing_matrix, tilted, wrap_grasp_yaw

PUSH_MPS = 0.08  # into a joint's travel: slow enough that the part follows rather than jams
RISE_OVER_M = 0.06  # a finished part skill leaves the hand this far above the part's top


@dataclass(frozen=True)
class PartConfig:
    """The hand's geometry as these motions need it (robosuite's and hvla's Panda hands alike)."""

    hand_half_depth_m: float = 0.032  # the hand's body reaches this far ahead of the TCP along its x axis
    handle_depth_m: float = 0.014  # the TCP this far behind a drawer's frontmost point: the pads on the bar
    push_below_centre_m: float = 0.02  # push a drawer this far below its centre: the hand's body on its face
    clearance_m: float = 0.06  # the hand waits this far out from a face before moving in
    knob_grip_m: float = 0.016  # the TCP this far below a knob's top (the pads lie above the TCP)
    # A stove's knob sits close to the base (LIBERO's: 0.34 m): a hand straight down over it folds the elbow to
    # its limit (joint 4 at -2.9 of -3.07 rad); leaning the wrist 0.5 rad outward leaves it at -2.5.
    knob_tilt_rad: float = 0.5
    # Fingers this far apart close on a knob's fin (LIBERO's: 2.4 cm thick, on a dial 8-9 cm across that fully
    # open fingers land on).
    knob_open_m: float = 0.045


PARTS = PartConfig()


def _part(scene: Scene, name: str) -> tuple[ObjectToken, Articulation]:
    tok = _token(scene, name)
    if tok.articulation is None:
        raise MessageError(f"'{name}' has no joint to move (its token carries no articulation)")
    return tok, tok.articulation


def _at(tok: ObjectToken, a: Articulation, s: float, z: float) -> NDArray[np.float64]:
    """The point `s` out along the part's outward direction, level with its centre laterally, at height z."""
    d = outward(a)
    lateral = a.part_center_m - float(a.part_center_m @ d) * d
    return np.array([lateral[0] + s * d[0], lateral[1] + s * d[1], z])


def close_drawer_phases(part: str, config: PartConfig = PARTS) -> list[Phase]:
    def pose(s_of, z_of) -> TargetFn:
        def target(scene: Scene, proprio: Proprio) -> Target:
            tok, a = _part(scene, part)
            d = outward(a)
            return _at(tok, a, s_of(tok, a), z_of(tok, a)), wrap_grasp_yaw(float(np.arctan2(d[1], d[0])))
        return target

    def push_z(tok: ObjectToken, a: Articulation) -> float:
        return float(a.part_center_m[2]) - config.push_below_centre_m

    def outside(tok: ObjectToken, a: Articulation) -> float:
        return face_along(tok, a, a.q) + config.hand_half_depth_m + config.clearance_m

    def pushed(tok: ObjectToken, a: Articulation) -> float:
        return face_along(tok, a, target_q(a, opened=False)) + config.hand_half_depth_m

    return [
        # Fingers open on the way up: a place counts as done once the thing is in and let go, the fingers still
        # astride a bowl's wall; shut there, they took the bowl back out of the drawer. They close on the way over.
        Phase("rise", _hold(SAFE_Z_M), OPEN_M, freeze=True),
        Phase("above", pose(outside, lambda tok, a: max(SAFE_Z_M, float(a.part_center_m[2]) + 0.1)), CLOSED_M,
              tol_m=0.015, freeze=True, empty_hand=True),
        Phase("descend", pose(outside, push_z), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.01, freeze=True, empty_hand=True),
        Phase("push", pose(pushed, push_z), CLOSED_M, PUSH_MPS, tol_m=0.012, freeze=True, empty_hand=True),
        Phase("back", pose(lambda tok, a: pushed(tok, a) + config.clearance_m, push_z), CLOSED_M, SLOW_MPS * 1.5,
              tol_m=0.015, freeze=True, empty_hand=True),
        Phase("retreat", _rise_over(part), CLOSED_M, tol_m=0.02, freeze=True, empty_hand=True),
    ]


def open_drawer_phases(part: str, config: PartConfig = PARTS) -> list[Phase]:
    def facing(a: Articulation) -> NDArray[np.float64]:
        return facing_matrix(-outward(a), np.array([0.0, 0.0, 1.0]))

    def pose(s_of) -> TargetFn:
        def target(scene: Scene, proprio: Proprio) -> Target:
            tok, a = _part(scene, part)
            return _at(tok, a, s_of(tok, a), float(a.part_center_m[2])), facing(a)
        return target

    def grip(tok: ObjectToken, a: Articulation) -> float:
        return face_along(tok, a, a.q) - config.handle_depth_m

    def pulled(tok: ObjectToken, a: Articulation) -> float:
        return face_along(tok, a, target_q(a, opened=True)) - config.handle_depth_m

    def back_out(scene: Scene, proprio: Proprio) -> Target:
        _tok, a = _part(scene, part)
        return proprio.ee_position_m + config.clearance_m * outward(a), proprio.T_world_ee[:3, :3].copy()

    return [
        Phase("rise", _hold(SAFE_Z_M), OPEN_M, freeze=True),
        Phase("approach", pose(lambda tok, a: grip(tok, a) + config.clearance_m + 0.03), OPEN_M, tol_m=0.015,
              freeze=True),
        Phase("insert", pose(grip), OPEN_M, SLOW_MPS, tol_m=0.006, freeze=True),
        Phase("close", pose(grip), CLOSED_M, SLOW_MPS, tol_m=0.02, dwell_s=0.5, freeze=True, empty_hand=True),
        Phase("pull", pose(pulled), CLOSED_M, PUSH_MPS, tol_m=0.008, freeze=True, empty_hand=True),
        Phase("release", _hold_pose(), OPEN_M, SLOW_MPS, tol_m=0.02, dwell_s=0.4, freeze=True),
        Phase("back", back_out, OPEN_M, SLOW_MPS * 1.5, tol_m=0.015, freeze=True),
        Phase("retreat", _rise_over(part), OPEN_M, tol_m=0.02, freeze=True),
    ]


def _rise_over(part: str) -> TargetFn:
    """Straight up from where the hand is, to the carry height or above the part's top if that is higher (an
    open top drawer reaches above the carry height: the next skill's path must pass over it)."""

    def target(scene: Scene, proprio: Proprio) -> Target:
        _, a = _part(scene, part)
        top = float(a.part_center_m[2] + 0.5 * a.part_extent_m[2])
        return _hold(max(SAFE_Z_M, top + RISE_OVER_M))(scene, proprio)

    return target


def _hold_pose() -> TargetFn:
    """Where the hand is, turned as it is (a hand pointing into a drawer stays so while it lets go)."""

    def target(scene: Scene, proprio: Proprio) -> Target:
        return proprio.ee_position_m.copy(), proprio.T_world_ee[:3, :3].copy()

    return target


def turn_knob_phases(part: str, on: bool, config: PartConfig = PARTS) -> list[Phase]:
    """Grasp the knob at its axis and twist the hand about it by what the joint must turn."""

    def twist(scene: Scene, proprio: Proprio) -> float:
        _tok, a = _part(scene, part)
        return (target_q(a, opened=on) - a.q) * float(np.sign(a.axis[2]) or 1.0)

    def knob(at_start: bool, z_of) -> TargetFn:
        def target(scene: Scene, proprio: Proprio) -> Target:
            _tok, a = _part(scene, part)
            turn = twist(scene, proprio)
            xyz = np.array([a.anchor_m[0], a.anchor_m[1], z_of(a)])
            if not at_start:  # the hand as it holds the knob, turned about the vertical through the TCP
                return xyz, about_z(turn) @ proprio.T_world_ee[:3, :3]
            # The hand's x along the fin (fingers across it), of its two ways the one nearer half the turn back
            # (the wrist then turns through its middle); without a known fin, half the turn back.
            yaw = -0.5 * turn if a.grip_yaw_rad is None else (
                -0.5 * turn + wrap_grasp_yaw(a.grip_yaw_rad + 0.5 * turn))
            return xyz, tilted(down_matrix(yaw), -xyz[:2], config.knob_tilt_rad)
        return target

    def grip_z(a: Articulation) -> float:
        top = float(a.part_center_m[2] + 0.5 * a.part_extent_m[2])
        bottom = float(a.part_center_m[2] - 0.5 * a.part_extent_m[2])
        return max(top - config.knob_grip_m, bottom + 0.008)

    return [
        Phase("rise", _hold(SAFE_Z_M), OPEN_M, freeze=True),
        Phase("above", knob(True, lambda a: SAFE_Z_M), config.knob_open_m, tol_m=0.015, freeze=True),
        Phase("descend", knob(True, grip_z), config.knob_open_m, SLOW_MPS, tol_m=0.006, freeze=True),
        Phase("close", knob(True, grip_z), CLOSED_M, SLOW_MPS, tol_m=0.02, dwell_s=0.5, freeze=True),
        Phase("twist", knob(False, grip_z), CLOSED_M, SLOW_MPS, tol_m=0.02, freeze=True),
        Phase("release", _hold_pose(), OPEN_M, SLOW_MPS, tol_m=0.02, dwell_s=0.4, freeze=True),
        Phase("retreat", _rise_over(part), OPEN_M, tol_m=0.02, freeze=True),
    ]


def part_phases(skill: str, part: str, scene: Scene) -> list[Phase]:
    """The expert for `skill` on `part`, chosen by how the part moves (slides or turns, a switch or not)."""
    _, a = _part(scene, part)
    if a.switch:
        if skill not in ("turn_on", "turn_off"):
            raise MessageError(f"'{part}' is a knob or switch: turn it on or off, not {skill}")
        return turn_knob_phases(part, on=skill == "turn_on")
    if skill not in ("open", "close"):
        raise MessageError(f"'{part}' opens and closes; it cannot {skill.replace('_', ' ')}")
    if a.kind == "slide":
        return open_drawer_phases(part) if skill == "open" else close_drawer_phases(part)
    raise MessageError(f"no scripted expert opens or closes a hinged door yet ('{part}')")
