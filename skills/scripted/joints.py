"""Where a jointed part is and will be: a drawer's outward direction, its face at any joint value, the
joint value to drive to, and the part of an open drawer that sticks out (where things can go in)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import MessageError
from hvla.core.messages import Articulation, ObjectToken


def outward(a: Articulation) -> NDArray[np.float64]:
    """The horizontal direction a drawer comes out along."""
    d = a.axis * a.opening_sign
    d = np.array([d[0], d[1], 0.0])
    n = float(np.linalg.norm(d))
    if n < 1e-6:
        raise MessageError("this drawer does not slide horizontally")
    return d / n


def face_along(tok: ObjectToken, a: Articulation, q: float) -> float:
    """Where the part's frontmost point (a drawer's handle) is along its outward direction when the joint is
    at `q` (the part moves by (q - a.q) along its axis)."""
    d = outward(a)
    half = 0.5 * float(np.abs(a.part_extent_m) @ np.abs(d))
    return float(a.part_center_m @ d) + half + (q - a.q) * float(a.axis @ d)


def target_q(a: Articulation, opened: bool) -> float:
    """The joint value to drive to: the far end of the open range; past the far end of the closed range,
    toward the joint's limit (LIBERO judges "closed" strictly beyond its rest value)."""
    lo, hi = a.open_range
    if opened:  # the open range's far end: a hand that stops within its tolerance still leaves it open
        return lo if a.opening_sign < 0 else hi
    lo, hi = a.closed_range
    far = hi if a.opening_sign < 0 else lo
    if a.limits is None:
        return far
    limit = a.limits[1] if a.opening_sign < 0 else a.limits[0]
    return far + 0.5 * (limit - far)



FRONT_PANEL_M = 0.044  # a drawer's box reaches this far past the inside of its front wall: its handle and the wall


def room(tok: ObjectToken) -> float:
    """How deep [m] a thing put into an open drawer may be: from the inside of its front wall back to where its box
    front stood when closed, which is where the handles of the drawers above it stick out (a bowl's rim caught on
    the handle above while going down, and tipped)."""
    a = tok.articulation
    if a is None or a.kind != "slide":
        return np.inf
    return face_along(tok, a, a.q) - FRONT_PANEL_M - face_along(tok, a, sum(a.closed_range) / 2)


def exposed_centre(tok: ObjectToken) -> NDArray[np.float64]:
    """Where a thing put into an open drawer goes down: the middle of its `room`, inside the front wall and in
    front of the handles of the drawers above (the drawer's own centre may still be under the cabinet)."""
    a = tok.articulation
    if a is None or a.kind != "slide":
        return np.asarray(tok.position_m, dtype=np.float64)
    d = outward(a)
    front, front_closed = face_along(tok, a, a.q), face_along(tok, a, sum(a.closed_range) / 2)
    depth = float(np.abs(a.part_extent_m) @ np.abs(d))
    inner = max(front_closed, front - depth)  # the cabinet's front, or the drawer's back if it is out further
    wall = max(front - FRONT_PANEL_M, inner)
    shift = 0.5 * (wall + inner) - float(tok.position_m @ d)
    return np.asarray(tok.position_m, dtype=np.float64) + shift * d
