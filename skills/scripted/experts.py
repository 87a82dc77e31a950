"""Scripted experts for pick, place and wipe, written against object tokens (ground truth or perceived).

Each expert is a list of phases. A phase names a target pose computed afresh from the latest scene
at every call (so a moved object is followed), a gripper command, a speed and a tolerance. The
expert advances when the hand is at the phase target and the phase's dwell time has passed. A grasp
that closes on nothing goes back to the approach: the data then shows recoveries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core import panda
from hvla.core.errors import MessageError
from hvla.core.messages import ActionChunk, ObjectToken, Proprio, Scene
from hvla.skills.scripted.clearance import HAND_HALF_SPAN_M, rim_side, slide_out
from hvla.skills.scripted.joints import FRONT_PANEL_M, exposed_centre
from hvla.skills.scripted.motion import about_z, down_matrix, hand_yaw, pose_chunk, straight_chunk, wrap_grasp_yaw
from hvla.skills.scripted.wrist import WRIST, WRIST_HEADROOM_RAD, wrist_safe_turn

SAFE_Z_M = 0.2  # carry height of the TCP above the table
OPEN_M = panda.GRIPPER_MAX_M
CLOSED_M = 0.0
EMPTY_GRASP_M = 0.004  # fingers this close together hold nothing
FAST_MPS, SLOW_MPS, WIPE_MPS = 0.3, 0.1, 0.2
CARRY_OVER_Z_M = 0.15  # the held sponge clears a bowl with fruit in it
CARRY_CLEAR_M = 0.04  # a carried object's bottom passes this far above the top of where it goes
LIFT_M = 0.08  # a pick raises the object at least this much
SLIDE_RAISE_M = 0.012  # a held thing moved out from under an overhang clears its support: dragged, it tips in the pads
DRAWER_FLOOR_M = 0.01  # a drawer's floor is this far above the bottom of its box

# (xyz [m], yaw [rad]) of a top-down hand, or (xyz [m], rotation (3, 3)) of a hand turned any way (parts.py)
Target = tuple[NDArray[np.float64], float | NDArray[np.float64]]
TargetFn = Callable[[Scene, Proprio], Target]


@dataclass(frozen=True)
class Phase:
    name: str
    target: TargetFn
    gripper_m: float
    speed_mps: float = FAST_MPS
    tol_m: float = 0.01
    dwell_s: float = 0.0  # time to stay at the target (fingers closing, opening)
    # Target fixed at the phase's first step. The fingers close (or open) where the hand is: a target
    # that followed the perceived object would chase it, since a held object's visible part, and so
    # its perceived centre, shifts as the fingers cover it, and the hand would drag it along.
    freeze: bool = False
    # Whether the hand holds nothing that can slip, so the expert's speed scale applies; None: when the fingers
    # are open. Closed fingers holding nothing (a push) or a drawer's rigid handle may go quicker too.
    empty_hand: bool | None = None
    # How far the last joint must stay inside its limits for the nearer of the hand's two equivalent yaws to be
    # taken (wrist.py). A hand low in contact (a push under way) keeps its yaw: 0, unless that breaks a limit.
    wrist_headroom_rad: float = WRIST_HEADROOM_RAD

    @property
    def scalable(self) -> bool:
        return self.gripper_m > EMPTY_GRASP_M if self.empty_hand is None else self.empty_hand


class PhaseExpert:
    """Runs a list of phases closed loop; `done` once the last phase is reached."""

    def __init__(self, phases: list[Phase], k: int = 10, dt_s: float = 0.1) -> None:
        self.phases = phases
        self.k, self.dt_s = k, dt_s
        self.index = 0
        self._dwell_s = 0.0
        self._frozen: Target | None = None
        self.done = False
        self.regrasps = 0
        self.speed_scale = 1.0  # the speed of every phase with open fingers times this

    @property
    def phase(self) -> Phase:
        return self.phases[min(self.index, len(self.phases) - 1)]

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        xyz = proprio.ee_position_m
        yaw = hand_yaw(proprio.T_world_ee)
        self._maybe_regrasp(proprio)
        goal, goal_yaw = self._nearest_turn(self.target(scene, proprio), proprio, self.phase.wrist_headroom_rad)
        at_goal = np.linalg.norm(goal - xyz) < self.phase.tol_m and _turned(proprio, goal_yaw)
        if at_goal:
            self._dwell_s += self.dt_s
            if self._dwell_s >= self.phase.dwell_s:
                self._advance()
                goal, goal_yaw = self._nearest_turn(self.target(scene, proprio), proprio,
                                                    self.phase.wrist_headroom_rad)
        phase = self.phase
        if not isinstance(goal_yaw, np.ndarray) and proprio.T_world_ee[2, 2] > -np.cos(TURNED_RAD):
            # A yaw target while the hand points elsewhere (leaving a drawer's handle): turn it down gradually
            # along the way; a chunk of top-down waypoints would swing it round at once, through the drawer.
            goal_yaw = down_matrix(goal_yaw)
        # Quicker only with an empty hand: a bowl held by its rim slides out of the pads when lifted faster.
        speed = phase.speed_mps * (self.speed_scale if phase.scalable else 1.0)
        if isinstance(goal_yaw, np.ndarray):  # a hand that does not point down
            return pose_chunk(proprio.T_world_ee, goal, goal_yaw, phase.gripper_m, speed, self.k, self.dt_s)
        return straight_chunk(xyz, yaw, goal, goal_yaw, phase.gripper_m, speed, self.k, self.dt_s)

    @staticmethod
    def _nearest_turn(target: Target, proprio: Proprio, headroom_rad: float = WRIST_HEADROOM_RAD) -> Target:
        """A parallel gripper is the same turned half way round: of the two yaws, the one nearer the hand's.
        The far one can cost a second and a half of wrist rotation, the arm all but still meanwhile (the
        trajectory keeps every joint in step with the slowest), out of LIBERO's 11 to 26 s episodes. Unless the
        near one takes the last joint close to its limit: then the far one (wrist.py)."""
        goal, goal_yaw = target
        if isinstance(goal_yaw, np.ndarray):
            return target
        yaw = hand_yaw(proprio.T_world_ee)
        turn = wrist_safe_turn(float(proprio.q_rad[WRIST]), yaw, proprio.ee_position_m[:2], goal_yaw,
                               np.asarray(goal[:2], dtype=np.float64), headroom_rad)
        return goal, yaw + turn

    def target(self, scene: Scene, proprio: Proprio) -> Target:
        """The current phase's target (for a frozen phase, the one taken at its first step)."""
        if not self.phase.freeze:
            return self.phase.target(scene, proprio)
        if self._frozen is None:
            self._frozen = self.phase.target(scene, proprio)
        return self._frozen

    def goto(self, index: int) -> None:
        """Jump to phase `index` afresh (re-grasps, DAgger's tracker)."""
        self.index = index
        self._dwell_s = 0.0
        self._frozen = None

    def _advance(self) -> None:
        if self.index >= len(self.phases) - 1:
            self._dwell_s = 0.0
            self.done = True
        else:
            self.goto(self.index + 1)

    def _maybe_regrasp(self, proprio: Proprio) -> None:
        """After closing, empty fingers mean the grasp missed: go back to the approach phase."""
        names = [p.name for p in self.phases]
        if (
            self.phase.name in ("lift", "carry")
            and "above" in names
            and proprio.gripper_m < EMPTY_GRASP_M
            and self.regrasps < 3
        ):
            self.goto(names.index("above"))
            self.regrasps += 1


TURNED_RAD = 0.1  # a hand turned any way has reached its target orientation within this angle


def _turned(proprio: Proprio, goal: float | NDArray[np.float64]) -> bool:
    """Whether the hand's orientation is at a (3, 3) target (a yaw target is followed on the way, not waited for)."""
    if not isinstance(goal, np.ndarray):
        return True
    cos = (np.trace(proprio.T_world_ee[:3, :3].T @ goal) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0))) < TURNED_RAD


def _token(scene: Scene, name: str) -> ObjectToken:
    tok = scene.find(name)
    if tok is None:
        raise MessageError(f"object '{name}' is not in the scene; objects: {[t.name for t in scene.tokens]}")
    return tok


def _top_z(tok: ObjectToken) -> float:
    return float(tok.position_m[2] + 0.5 * tok.extent_m[2])


def _bottom_z(tok: ObjectToken) -> float:
    return float(tok.position_m[2] - 0.5 * tok.extent_m[2])


@dataclass(frozen=True)
class GraspConfig:
    """How low the hand may close on an object: the gripper's own geometry, which differs between bodies.

    `fingertip_above_tcp_m` is where the fingertips end relative to the TCP along the approach axis (the
    world knows: hvla's kitchen Panda fingers reach 9.5 mm below it, robosuite's pads end 2 mm above it).
    """

    fingertip_above_tcp_m: float = -0.0095
    tip_clearance_m: float = 0.0055  # the fingertips stay this far above the object's support
    palm_clearance_m: float = 0.04  # the TCP at most this far below the object's top (lower: the palm hits it)
    widest_across_m: float = 0.085  # wider than the open gripper (0.08 m) both ways: held by its rim instead
    rim_inset_m: float = 0.008  # the fingers close on the wall this far inside the outer edge
    rim_depth_m: float = 0.02  # ... with the TCP this far below the rim

    def height(self, tok: ObjectToken) -> float:
        """Where the TCP closes on `tok`: its middle, but no lower than the fingertips clear its support and
        no lower than the palm clears its top (a tall carton is held near its top, a flat box low)."""
        return max(float(tok.position_m[2]), self.lowest(tok), _top_z(tok) - self.palm_clearance_m)

    def lowest(self, tok: ObjectToken) -> float:
        """The lowest TCP height over `tok`'s support at which the fingertips still clear it."""
        return _bottom_z(tok) + self.tip_clearance_m - self.fingertip_above_tcp_m

    def by_rim(self, tok: ObjectToken) -> bool:
        """A vessel too wide to close across (its box wider than the open gripper both ways): held by its
        rim. Only containers and generic objects qualify: a fruit's or a sponge's world-aligned box grows
        when it lies turned (a sponge at 45 degrees measures 10 x 10 cm) while it still fits the fingers."""
        if tok.category not in RIM_CATEGORIES:
            return False
        return min(_footprint(tok)) > self.widest_across_m

    def pose(self, tok: ObjectToken, scene: Scene | None = None) -> Target:
        """Where and how the hand closes on `tok`. Across its middle when it fits between the fingers;
        else (a bowl, a ramekin) on its wall, on the side facing the robot (or turned from it, in a drawer, to
        keep the outer finger off the drawer's wall), the fingers closing radially."""
        if not self.by_rim(tok):
            return np.array([*tok.position_m[:2], self.height(tok)]), _grasp_yaw(tok)
        toward_base = -np.asarray(tok.position_m[:2], dtype=np.float64)
        d = toward_base / max(float(np.linalg.norm(toward_base)), 1e-6)
        radius = 0.5 * min(float(tok.extent_m[0]), float(tok.extent_m[1])) - self.rim_inset_m
        d = rim_side(scene, tok, d, radius + 0.5 * OPEN_M, FRONT_PANEL_M)
        z = max(_top_z(tok) - self.rim_depth_m, self.lowest(tok))
        yaw = wrap_grasp_yaw(float(np.arctan2(d[1], d[0])) + np.pi / 2)  # hand x along the wall: fingers across it
        return np.array([*(tok.position_m[:2] + radius * d), z]), yaw


KITCHEN_GRASP = GraspConfig()
RIM_CATEGORIES = frozenset({"container", "object"})
PLACE_CLEARANCE_M = 0.02  # between a placed thing and its neighbour: the open fingers' room
SLOT_MARGIN_M = 0.02  # a slot's centre at least this far inside the surface it is on


def _footprint(tok: ObjectToken) -> tuple[float, float]:
    """Its own horizontal size (along its yaw, across), where the token knows it; else its world-aligned box's."""
    size = tok.footprint_m if tok.footprint_m is not None else tok.extent_m[:2]
    return float(size[0]), float(size[1])


def _grasp_yaw(tok: ObjectToken) -> float:
    return wrap_grasp_yaw(tok.yaw_rad)


def _hold(z: float | None = None) -> TargetFn:
    """Where the hand is (raised to at least height z); use in a frozen phase."""

    def target(scene: Scene, proprio: Proprio) -> Target:
        xyz = proprio.ee_position_m.copy()
        if z is not None:
            xyz[2] = max(z, xyz[2])
        return xyz, hand_yaw(proprio.T_world_ee)

    return target


def grasp_phases(obj: str, config: GraspConfig = KITCHEN_GRASP) -> list[Phase]:
    def above(scene: Scene, proprio: Proprio) -> Target:
        tok = _token(scene, obj)
        xyz, yaw = config.pose(tok, scene)
        return np.array([*xyz[:2], max(SAFE_Z_M, _top_z(tok) + 0.1)]), yaw

    def pregrasp(scene: Scene, proprio: Proprio) -> Target:
        tok = _token(scene, obj)
        xyz, yaw = config.pose(tok, scene)
        return np.array([*xyz[:2], _top_z(tok) + 0.04]), yaw

    def grasp(scene: Scene, proprio: Proprio) -> Target:
        return config.pose(_token(scene, obj), scene)

    def slide(scene: Scene, proprio: Proprio) -> Target:
        """Out from under whatever overhangs the held thing (an open drawer), dragged a few millimetres up."""
        xyz, yaw = proprio.ee_position_m.copy(), hand_yaw(proprio.T_world_ee)
        xyz[:2] += slide_out(scene, _token(scene, obj), xyz[:2], yaw)
        xyz[2] += SLIDE_RAISE_M
        return xyz, yaw

    return [
        Phase("rise", _hold(SAFE_Z_M), OPEN_M, freeze=True),
        Phase("above", above, OPEN_M, tol_m=0.015),
        Phase("pregrasp", pregrasp, OPEN_M, SLOW_MPS, tol_m=0.008),
        Phase("descend", grasp, OPEN_M, SLOW_MPS, tol_m=0.005),
        Phase("close", grasp, CLOSED_M, SLOW_MPS, tol_m=0.01, dwell_s=0.5, freeze=True),
        Phase("slide", slide, CLOSED_M, SLOW_MPS, tol_m=0.01, freeze=True),
    ]


def _lift() -> TargetFn:
    """Up to the carry height, and at least `LIFT_M` up from where the fingers closed (an object picked from a
    cabinet's top, above the carry height, is still lifted off it)."""

    def target(scene: Scene, proprio: Proprio) -> Target:
        xyz = proprio.ee_position_m.copy()
        xyz[2] = max(SAFE_Z_M, xyz[2] + LIFT_M)
        return xyz, hand_yaw(proprio.T_world_ee)

    return target


def pick_phases(obj: str, grasp: GraspConfig = KITCHEN_GRASP) -> list[Phase]:
    lift = Phase("lift", _lift(), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.015, freeze=True)
    return [*grasp_phases(obj, grasp), lift]


def place_phases(obj: str, target: str, config: GraspConfig = KITCHEN_GRASP) -> list[Phase]:
    """Carry the held `obj` above `target`, lower it to just above the rim, release, retreat."""

    chosen: dict[str, float] = {}

    def over(scene: Scene, proprio: Proprio) -> NDArray[np.float64]:
        """The hand's xy that puts the held object's centre over the target's. Held by its rim, it hangs
        off-centre; held across its middle, the hand goes over the target itself (a perceived held object's
        centre shifts as the fingers cover it, and must not steer the hand)."""
        dest, held = _token(scene, target), scene.find(obj)
        spot = free_spot(dest, held, scene, exposed_centre(dest)[:2])  # an open drawer: the part out in front
        if held is not None and "rim" not in chosen:  # decided once: a held book that swings grows a wide box
            chosen["rim"] = float(config.by_rim(held))
        if held is None or not chosen["rim"]:
            return spot
        return spot - (held.position_m[:2] - proprio.ee_position_m[:2])

    def carry(scene: Scene, proprio: Proprio) -> Target:
        dest, held = _token(scene, target), scene.find(obj)
        # Never lower while carrying: an object picked from high up (a cabinet top) would sweep it. And high
        # enough that what hangs below the hand clears whatever already stands on the target (a first pot).
        # And the held object's own bottom above the target's top: a wine bottle held by its neck hangs 12 cm
        # below the hand, and a carry only 12 cm above a cabinet's top swept it into the cabinet's side.
        below_tcp = max(float(proprio.ee_position_m[2]) - _bottom_z(held), 0.0) if held is not None else 0.0
        standing = [_top_z(t) for t in standing_on(dest, scene, obj)]
        top = max([_top_z(dest), *standing])
        z = max(SAFE_Z_M, _top_z(dest) + 0.12, float(proprio.ee_position_m[2]), top + below_tcp + CARRY_CLEAR_M)
        xy = over(scene, proprio)
        if float(proprio.ee_position_m[2]) - below_tcp < top + 0.5 * CARRY_CLEAR_M:
            # Straight up first while what it holds hangs lower than the target's top: on a slant from the
            # table to the carry height it would reach the target's side before its top.
            xy = proprio.ee_position_m[:2].copy()
        return np.array([*xy, z]), release_yaw(scene, proprio, xy)

    def lower(scene: Scene, proprio: Proprio) -> Target:
        xy = over(scene, proprio)
        return np.array([*xy, release_z(scene, proprio)]), release_yaw(scene, proprio, xy)

    def release_yaw(scene: Scene, proprio: Proprio, xy: NDArray[np.float64]) -> float:
        """The hand's yaw as it lets go: as it is, or a quarter turn when its body, 20 cm long along the
        fingers, would come down on a neighbour taller than the palm (a mug on the plate beside the pudding's
        place). A thing held by its rim keeps its yaw: it hangs off-centre, and turning would move it."""
        if "yaw" in chosen:  # decided once, from the yaw the carry began with: the turn must not re-decide it
            return chosen["yaw"]
        yaw = hand_yaw(proprio.T_world_ee)
        held = scene.find(obj)
        if held is None or config.by_rim(held):
            return yaw
        lengthwise = slot_turn(_token(scene, target), held)
        if lengthwise is not None:  # into a slot narrower than the held thing is long: turned to lie along it
            chosen["yaw"] = wrap_grasp_yaw(yaw + lengthwise)
            return chosen["yaw"]
        palm_z = release_z(scene, proprio) + config.palm_clearance_m
        turns = sorted(np.radians(np.arange(-90, 91, 15)), key=abs)  # the smallest turn that clears
        free = [yaw + t for t in turns if not hand_hits(scene, xy, yaw + t, palm_z, (obj, target))
                and not turned_hits(scene, held, xy, t, (obj, target))]
        chosen["yaw"] = wrap_grasp_yaw(free[0]) if free else yaw
        return chosen["yaw"]

    def release_z(scene: Scene, proprio: Proprio) -> float:
        dest = _token(scene, target)
        held = _token(scene, obj)
        # The held object's bottom goes 2 cm above the rim or surface; it hangs below the TCP by what the
        # grasp left under the fingers (half its height when held at its middle).
        below_tcp = max(float(proprio.ee_position_m[2]) - _bottom_z(held), 0.0)
        z = _top_z(dest) + below_tcp + 0.02
        if dest.articulation is not None and dest.articulation.kind == "slide":
            # Into an open drawer: down to just above its floor. Dropped from above its rim, a bowl lands
            # askew and no longer fits under the cabinet when the drawer closes (5.1 cm in 5.7).
            z = _bottom_z(dest) + DRAWER_FLOOR_M + below_tcp + 0.01
        return z

    return [
        Phase("lift", _hold(SAFE_Z_M), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.02, freeze=True),
        Phase("carry", carry, CLOSED_M, FAST_MPS, tol_m=0.015),
        Phase("lower", lower, CLOSED_M, SLOW_MPS, tol_m=0.008),
        Phase("release", lower, OPEN_M, SLOW_MPS, tol_m=0.02, dwell_s=0.4, freeze=True),
        Phase("retreat", _hold(SAFE_Z_M), OPEN_M, FAST_MPS, tol_m=0.02, freeze=True),
    ]


def slot_turn(dest: ObjectToken, held: ObjectToken) -> float | None:
    """The turn [rad] that lays the held thing's long side along a container's long side, when the container is
    narrower than the thing is long (a book into a caddy's compartment); None when it fits any way round."""
    if dest.category != "container":
        return None
    length = _footprint(held)[0]
    size = _footprint(dest)
    if length <= min(size):
        return None
    long_axis = dest.yaw_rad if size[0] >= size[1] else dest.yaw_rad + np.pi / 2
    return wrap_grasp_yaw(long_axis - held.yaw_rad)


def hand_hits(scene: Scene, xy: NDArray[np.float64], yaw: float, palm_z: float, skip: tuple[str, ...]) -> bool:
    """Whether a top-down hand at `xy` turned by `yaw`, its palm at `palm_z`, comes down on a thing (not in `skip`,
    not a part) that rises above the palm."""
    half = np.abs(about_z(yaw)[:2, :2]) @ HAND_HALF_SPAN_M
    return any(_top_z(t) > palm_z and bool((np.abs(t.position_m[:2] - xy) < half + 0.5 * t.extent_m[:2]).all())
               for t in _loose_things(scene, *skip))


def turned_hits(scene: Scene, held: ObjectToken, xy: NDArray[np.float64], turn: float, skip: tuple[str, ...]) -> bool:
    """Whether the held thing, its box turned by `turn` with the hand, set down at `xy` overlaps a neighbour's box
    (a moka pot turned a quarter to clear the hand's body would swing its handle into the first pot)."""
    if abs(turn) < 1e-9:
        return False  # as it is: where it goes was chosen clear of the neighbours already
    half = 0.5 * (np.abs(about_z(turn)[:2, :2]) @ held.extent_m[:2])
    return any(bool((np.abs(t.position_m[:2] - xy) < half + 0.5 * t.extent_m[:2]).all())
               for t in _loose_things(scene, *skip))


def _loose_things(scene: Scene, *skip: str) -> list[ObjectToken]:
    """The scene's movable things (no part of a fixture, no region) but those named in `skip`: what a place
    must keep clear of."""
    return [t for t in scene.tokens if t.name not in skip and t.category in RIM_CATEGORIES and t.articulation is None]


def standing_on(dest: ObjectToken, scene: Scene, held: str) -> list[ObjectToken]:
    """The things (not `held`, not a part) that already stand on or in `dest`: over its footprint and with their
    bottom above its own. A cup beside a bowl overlaps the bowl's box but stands on the table with it."""
    lift = min(0.5 * float(dest.extent_m[2]), 0.01)
    return [t for t in _loose_things(scene, dest.name, held) if _bottom_z(t) >= _bottom_z(dest) + lift
            and bool((np.abs(t.position_m[:2] - dest.position_m[:2]) <= 0.5 * dest.extent_m[:2]).all())]


def in_the_way(dest: ObjectToken, held: ObjectToken, scene: Scene) -> list[ObjectToken]:
    """What the held object must not land on: what already stands in a container; on an open surface (a plate,
    a place beside a thing) also what rises above it close enough for the opening fingers to hit (a mug on the
    plate beside 'the right of the plate')."""
    if dest.category != "surface":
        return standing_on(dest, scene, held.name)
    near = 0.5 * (dest.extent_m[:2] + held.extent_m[:2]) + PLACE_CLEARANCE_M
    return [t for t in _loose_things(scene, dest.name, held.name) if _top_z(t) > _top_z(dest) + 0.01
            and bool((np.abs(t.position_m[:2] - dest.position_m[:2]) <= near + 0.5 * t.extent_m[:2]).all())]


def free_spot(dest: ObjectToken, held: ObjectToken | None, scene: Scene,
              centre: NDArray[np.float64]) -> NDArray[np.float64]:
    """Where on `dest` the held object goes: its centre, unless something is in the way there (the first of
    two moka pots on a stove, a mug beside the place); then the nearest point where nothing is (else the one
    that overlaps least), within a container's walls or well inside a surface's footprint."""
    if held is None:
        return centre
    here = in_the_way(dest, held, scene)
    half = 0.5 * np.asarray(held.extent_m[:2], dtype=np.float64)

    def overlap(p: NDArray[np.float64]) -> float:
        """How far the boxes (with the fingers' clearance between them) still overlap, on the axis where they
        overlap least; 0 once they are apart along one axis."""
        worst = 0.0
        for t in here:
            gap = half + 0.5 * t.extent_m[:2] + PLACE_CLEARANCE_M - np.abs(p - t.position_m[:2])
            worst = max(worst, float(max(min(gap[0], gap[1]), 0.0)))
        return worst

    slots = twin_slots(dest, held, scene, centre)
    if slots:
        return min(slots, key=lambda p: (overlap(p), float(np.linalg.norm(p))))
    if overlap(centre) == 0.0:
        return centre
    if dest.category == "container":
        # Inside walls: the held thing stays a centimetre inside them (a can dropped at a basket's edge lands
        # on its rim, outside the contain region); with no room beside the first, it goes onto its middle.
        reach = np.maximum(0.5 * dest.extent_m[:2] - half - 0.01, 0.0)
    else:  # its centre well inside: LIBERO's regions and the kitchen's plate test the centre against the footprint
        reach = 0.3 * np.asarray(dest.extent_m[:2], dtype=np.float64)
    grid = [centre + np.array([dx, dy]) for dx in np.linspace(-reach[0], reach[0], 11)
            for dy in np.linspace(-reach[1], reach[1], 11)]
    return min(grid, key=lambda p: (overlap(p), float(np.linalg.norm(p - centre))))


def twin_slots(dest: ObjectToken, held: ObjectToken, scene: Scene,
               centre: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Two places side by side on a surface, when a twin of the held thing (same label) is about and two fit:
    "put both moka pots on the stove" puts both in the stove's 15 cm cook region, and a first pot in its
    middle leaves no room for the second. Along the held thing's narrower side, its width and the fingers'
    room apart, each centre at least `SLOT_MARGIN_M` inside the surface (LIBERO tests the centre). None (an
    empty list) for a container, with no twin, or where two do not fit."""
    if dest.category != "surface":
        return []
    if not any(t.label == held.label for t in _loose_things(scene, dest.name, held.name)):
        return []
    axis = int(np.argmin(held.extent_m[:2]))
    half_gap = 0.5 * (float(held.extent_m[axis]) + PLACE_CLEARANCE_M)
    if half_gap > 0.5 * float(dest.extent_m[axis]) - SLOT_MARGIN_M:
        return []
    step = np.zeros(2)
    step[axis] = half_gap
    return [centre - step, centre + step]


def wipe_phases(tool: str, region: str, press_z_m: float = 0.012, grasp: GraspConfig = KITCHEN_GRASP) -> list[Phase]:
    """Grasp the sponge, sweep it over the dirt patch in overlapping strokes, let go where the last ends.

    Putting the sponge back is not part of wiping: it is a `place` the planner adds when asked
    ("... and put the sponge back"). Kept out on purpose: an arm back above the sponge's home,
    holding it, looks the same before the wipe as after it, so a policy that sees only the present
    scene cannot tell whether to start wiping or to put the sponge down.
    """

    def stroke_point(i: int, end: int, z_m: float | None = None) -> TargetFn:
        def target(scene: Scene, proprio: Proprio) -> Target:
            patch = _token(scene, region)
            sx, sy = float(patch.extent_m[0]), float(patch.extent_m[1])
            x = patch.position_m[0] + (i - 1) * (sx / 2 - 0.03)
            sign = -1 if (i % 2 == 0) == (end <= 0) else 1
            y = patch.position_m[1] + sign * (sy / 2 - 0.02)
            return np.array([x, y, press_z_m if z_m is None else z_m]), 0.0

        return target

    # The sponge travels high (a bowl or a fruit may stand beside the patch) and comes down over the
    # first stroke's start.
    strokes = [Phase("above_patch", stroke_point(0, 0, CARRY_OVER_Z_M), CLOSED_M, FAST_MPS, tol_m=0.02),
               Phase("approach_patch", stroke_point(0, 0, 0.06), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.015)]
    for i in range(3):
        strokes.append(Phase(f"stroke{i}_start", stroke_point(i, 0), CLOSED_M, SLOW_MPS, tol_m=0.012))
        strokes.append(Phase(f"stroke{i}_end", stroke_point(i, 1), CLOSED_M, WIPE_MPS, tol_m=0.012))
    return [
        *grasp_phases(tool, grasp),
        Phase("lift", _hold(CARRY_OVER_Z_M), CLOSED_M, SLOW_MPS * 1.5, tol_m=0.015, freeze=True),
        *strokes,
        Phase("release", stroke_point(2, 1), OPEN_M, SLOW_MPS, tol_m=0.02, dwell_s=0.4, freeze=True),
        Phase("retreat", _hold(SAFE_Z_M), OPEN_M, FAST_MPS, tol_m=0.02, freeze=True),
    ]
