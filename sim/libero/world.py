"""`LiberoWorld`: a LIBERO task behind hvla's `World` interface, so the whole stack runs in LIBERO's scenes.

hvla's frame here is the robot's base (LIBERO mounts the Panda at, e.g., x = -0.6 m in its floor scenes):
every pose the server reports is mapped into it, so the controllers' model (base at the origin), the
planner's reach checks and the scripted experts need no LIBERO-specific code. One `command` is one LIBERO
control step (20 Hz, 50 ms): the arm's joint target goes to robosuite's joint-position controller (tuned
by the server to track it; sim/libero/server.py), the gripper to open or closed.

Success has two levels. `succeeded(subgoal, scene)` judges one subgoal with LIBERO's own BDDL predicates
where one applies (a place is `In(object, <target>_contain_region)` or `On(object, target)`, evaluated by
the server); `task_succeeded()` is LIBERO's `check_success()` on the task's goal, which is what the
benchmark reports. The server process is shared by every world in the process (creating LIBERO's env
takes seconds; it is reused for resets of the same task) and ends with the process.
"""

from __future__ import annotations

import atexit
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from hvla.core.errors import ConfigError
from hvla.core.messages import (
    Articulation,
    CameraFrame,
    CameraInfo,
    ObjectState,
    Observation,
    Proprio,
    Scene,
    Subgoal,
    WorldTruth,
)
from hvla.core.robot import JointCommand, JointLimits
from hvla.sim.libero.client import (
    LiberoObservation,
    LiberoRegion,
    LiberoServer,
    LiberoServerConfig,
    LiberoTaskInfo,
)
from hvla.sim.libero.objects import colour_of, hvla_category, label_of
from hvla.sim.registry import WORLDS

HAND_TO_TCP_M = 0.1034  # the Franka hand's tool centre point (example-robot-data's panda_hand_tcp), along its z
CAMERAS = {"scene": "agentview", "wrist": "robot0_eye_in_hand"}  # hvla's camera names -> LIBERO's
# LIBERO's evaluation caps an episode at this many 50 ms steps per suite (its `max_steps`); other suites 400.
SUITE_MAX_STEPS = {"libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520, "libero_90": 400}


def task_instruction(info: LiberoTaskInfo) -> str:
    """The sentence a policy is given: LIBERO's benchmark instruction on its own suites (what LIBERO-trained policies
    hear); on LIBERO-PRO's variants their BDDL's, which is the perturbation itself (a reworded instruction, a new
    task): their benchmark entry still carries the original task's words."""
    return info.language if info.suite in SUITE_MAX_STEPS else info.bddl_language


def suite_max_steps(suite: str) -> int:
    """The step cap of `suite`; a LIBERO-PRO variant ("libero_object_swap", "libero_10_lan") takes its base suite's."""
    base = max((name for name in SUITE_MAX_STEPS if suite == name or suite.startswith(name + "_")), key=len,
               default=None)
    return SUITE_MAX_STEPS[base] if base else 400
LIFTED_M = 0.03  # a picked object must be this far above where it started
# Finger openings [m]: below EMPTY_HAND_M they closed on nothing; above LET_GO_M they have let go of a held thing
EMPTY_HAND_M, LET_GO_M = 0.004, 0.05
AT_HAND_M = 0.01  # a thing is at the hand when the TCP is within its box grown by this
FULLY_OPEN_M, FULLY_CLOSED_M = 0.075, 0.005  # gripper commands at or beyond these go to the end
WIDTH_DEADBAND_M = 0.004  # a width between is held once within this (fingers move ~5 mm a 50 ms step)
# A region is an interior (things go in it) when its name says so: "basket_1_contain_region",
# "microwave_1_heating_region", "desk_caddy_1_back_contain_region" (a fixture's other regions are surfaces).
INTERIOR_WORDS = ("contain", "heating")
# hvla's skills for moving parts -> the BDDL predicate that judges them (on the part's own name).
# Where a region lies relative to a thing, in its BDDL name ("plate_right_region", "back_contain_region").
RELATION_WORDS = frozenset({"front", "back", "behind", "left", "right"})
HAND_CLEAR_M, AWAY_M = 0.03, 0.10  # a part skill is over once the TCP is this far above the part or beside it
ARTICULATION_PREDICATES = {"open": "open", "close": "close", "turn_on": "turnon", "turn_off": "turnoff"}


@dataclass(frozen=True)
class LiberoConfig:
    """Which LIBERO task runs, from which initial state, and how the server is started.

    Evaluations start from LIBERO's official init states (`init_index`); training scenes come from LIBERO's own
    scene sampler (`sample_seed`), so no demonstration is recorded from a state an evaluation starts from."""

    suite: str = "libero_object"
    task: int = 0
    init_index: int | None = None  # the official init state; None: the scene seed picks it (seed % 50)
    server: LiberoServerConfig = field(default_factory=LiberoServerConfig)
    settle_steps: int = 10  # steps holding still after the reset while objects settle (LIBERO's evaluations wait
    # 10 such steps too, outside the step cap: init states place objects a little into their supports)
    sample_seed: int | None = None  # instead: a scene LIBERO's sampler draws with this seed (training data)
    # The arm starts this far [rad, std per joint] from the state's joint angles (LIBERO-Plus's robot initial-state
    # perturbation), drawn from the init index or sample seed: the same episode, the same shift.
    arm_shift_std_rad: float = 0.0


_SERVERS: dict[LiberoServerConfig, LiberoServer] = {}


def shared_server(config: LiberoServerConfig) -> LiberoServer:
    """The process's server for `config`, started on first use and again after it died."""
    server = _SERVERS.get(config)
    if server is None or not server.alive:
        if server is not None:
            server.close()
        server = _SERVERS[config] = LiberoServer(config)
    return server


@atexit.register
def _close_servers() -> None:
    for server in _SERVERS.values():
        server.close()
    _SERVERS.clear()


class LiberoWorld:
    """One LIBERO task reset to one initial state, observed and commanded like the kitchen."""

    def __init__(self, config: LiberoConfig, seed: int = 0, image_size: int = 128) -> None:
        self.config = config
        self.server = shared_server(config.server)
        if config.suite not in self.server.hello.suites:
            raise ConfigError(f"unknown LIBERO suite '{config.suite}'; known: {sorted(self.server.hello.suites)}")
        tasks = self.server.tasks(config.suite)
        if not 0 <= config.task < len(tasks):
            raise ConfigError(f"{config.suite} has tasks 0..{len(tasks) - 1}; got task {config.task}")
        if config.sample_seed is not None and config.init_index is not None:
            raise ConfigError(f"LiberoConfig takes an official init_index ({config.init_index}) or a sample_seed "
                              f"({config.sample_seed}), not both")
        n_init = max(tasks[config.task].n_init_states, 1)
        self.init_index: int | None = None
        if config.sample_seed is None:
            self.init_index = config.init_index if config.init_index is not None else seed % n_init
        self.image_size = image_size
        self.info: LiberoTaskInfo
        shift = None
        if config.arm_shift_std_rad > 0:
            which = config.sample_seed if config.sample_seed is not None else self.init_index
            shift = np.random.default_rng([int(which or 0), 31]).normal(0.0, config.arm_shift_std_rad, 7)
        self.info, first = self.server.reset(config.suite, config.task, self.init_index, cameras=(),
                                             sample_seed=config.sample_seed, size=image_size, arm_offset_rad=shift)
        self.initial = self.server.last_reset
        self.instruction = task_instruction(self.info)
        self.control_dt_s = 1.0 / self.info.control_freq_hz
        self.limits = JointLimits.panda()
        self.T_base_world = np.linalg.inv(self.info.T_world_base)
        self._kinds = {o.name: o for o in self.info.objects}
        self._articulations = {a.name: a for a in self.info.articulations}
        self._interiors = self._interior_regions()
        self._supports = self._support_regions()
        self._places = self._place_regions()
        self._interiors.update({r.name: r.name for r, kind, _ in self._places if kind == "compartment"})
        self._last = first
        for _ in range(config.settle_steps):
            self._last = self.server.step(first.joint_pos_rad, +1.0)
        states = self._objects(self._last)
        self._start_z = {o.name: o.position_m[2] for o in states}
        # The table top: where the lowest movable thing rests after settling (scenes differ: 1.2 cm below the
        # base on the kitchen tables, more elsewhere).
        bottoms = [o.position_m[2] - 0.5 * o.extent_m[2] for o in states if o.category in ("object", "container")]
        self.table_z_m = float(min(bottoms)) - 0.005 if bottoms else 0.0
        self.speaker_left_xy = self._camera_left(CAMERAS["scene"])

    def _camera_left(self, camera: str) -> tuple[float, float]:
        """The left of someone looking through `camera` (the image's -x), level, in the base frame: LIBERO's
        instructions say "the left plate" as seen in its scene view, which faces the robot."""
        frame = self.server.observe(cameras=(camera,), size=16, depth=False, keep=False).cameras[camera]
        left = -(self.T_base_world[:3, :3] @ frame.T_world_cam[:3, 0])[:2]
        n = float(np.linalg.norm(left))
        return (0.0, 1.0) if n < 1e-6 else (float(left[0] / n), float(left[1] / n))

    cameras: tuple[str, ...] = tuple(CAMERAS)
    fingertip_above_tcp_m: float = 0.0018  # robosuite's Panda pads end 2 mm above the TCP (measured, server geoms)
    # A bowl held 2 cm below its rim slides out of robosuite's pads as it is lifted (the grip narrows from 7.8 to
    # 3.9 mm in 0.5 s); 1.2 cm below, it holds at 5.6 mm all the way (libero_goal task 8, measured).
    rim_grasp_depth_m: float = 0.012

    # --- Robot interface -------------------------------------------------------------------
    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        names = tuple(CAMERAS) if cameras is None else tuple(cameras)
        unknown = [c for c in names if c not in CAMERAS]
        if unknown:
            raise ConfigError(f"LIBERO world cameras are {list(CAMERAS)}; got {unknown}")
        obs = self._last
        frames: dict[str, CameraFrame] = {}
        if names:
            # Rendered once: the steps stay camera-free (a render costs ~50 ms a view here).
            obs = self.server.observe(cameras=tuple(CAMERAS[c] for c in names), size=self.image_size, depth=True,
                                      keep=False)
            frames = {c: self._frame(c, obs) for c in names}
        return Observation(t_s=obs.t_s, proprio=self._proprio(obs), frames=frames, truth=self._truth(obs))

    def command(self, cmd: JointCommand) -> None:
        self._last = self.server.step(cmd.q_rad, self._finger_action(cmd.gripper_m))

    def _finger_action(self, width_m: float) -> float:
        """robosuite's fingers take a direction, not a width: +1 opens, -1 closes (and squeezes what they hold),
        0 keeps them where they are. Fully open and closed commands go to the end; a width between is reached
        and then held (a knob's fin is grasped from 4.5 cm, where fingers open to 8 cm would land on its dial)."""
        if width_m >= FULLY_OPEN_M:
            return +1.0
        if width_m <= FULLY_CLOSED_M:
            return -1.0
        now = float(np.sum(np.abs(self._last.gripper_qpos_m)))
        if abs(now - width_m) <= WIDTH_DEADBAND_M:
            return 0.0
        return +1.0 if now < width_m else -1.0

    # --- World interface -------------------------------------------------------------------
    def succeeded(self, subgoal: Subgoal, scene: Scene) -> bool:
        """The subgoal's skill judged on the simulator's state, with LIBERO's BDDL predicates where they apply."""
        args, obs = subgoal.args, self._last
        if subgoal.skill == "pick":
            obj = args["object"]
            z = self._pose(obs, obj)[2, 3]
            return obs.grasped == obj and z > self._start_z.get(obj, z) + LIFTED_M
        if subgoal.skill in ("place", "pick_place", "push"):
            obj, target = args["object"], args["target"]
            if obs.grasped == obj or self._in_hand(obs, obj):
                return False
            if target in self._interiors:
                return self.server.eval_predicate("in", obj, self._interiors[target])
            if target in self._supports:
                return self.server.eval_predicate("on", obj, self._supports[target].name)
            return self.server.eval_predicate("on", obj, target)
        if subgoal.skill in ARTICULATION_PREDICATES and args.get("object") in self._articulations:
            # Done once the part is where BDDL wants it *and* the hand has left it: a drawer still held by its
            # handle is not finished with (the next skill, rising from there, pushed it half shut again).
            art = self._articulation(obs, args["object"])
            tcp = self._proprio(obs).ee_position_m
            clear = art is None or _clear_of(tcp, art)
            return clear and self.server.eval_predicate(ARTICULATION_PREDICATES[subgoal.skill], args["object"])
        return False

    def _in_hand(self, obs: LiberoObservation, obj: str) -> bool:
        """Whether the fingers, neither open nor shut on nothing, are at `obj`: held, though robosuite's contact
        test may miss it (a bowl by its rim, tipping against a drawer's wall, touches one finger a moment). A place
        is not over until the hand has let go: counted done at its rim, the bowl fell 3 cm into the drawer, askew."""
        width = float(np.sum(np.abs(obs.gripper_qpos_m)))
        if not EMPTY_HAND_M < width < LET_GO_M:
            return False
        tok = next((o for o in self._objects(obs) if o.name == obj), None)
        if tok is None:
            return False
        tcp = self._proprio(obs).ee_position_m
        return bool(np.all(np.abs(tcp - tok.position_m) <= 0.5 * tok.extent_m + AT_HAND_M))

    def bddl_names(self, name: str) -> set[str]:
        """The BDDL names a token stands for in goal predicates: itself, the region things go in (a basket's
        contain region), the surface things go on (a stove's cook region)."""
        out = {name}
        if name in self._interiors:
            out.add(self._interiors[name])
        if name in self._supports:
            out.add(self._supports[name].name)
        return out

    def goal_open(self) -> list[tuple[str, ...]]:
        """The task's BDDL goal predicates that do not hold yet (some hold from the start: the stove of "put both
        moka pots on the stove" is already on)."""
        return [p for p in self.info.goal_state if not self.server.eval_predicate(*p)]

    def task_succeeded(self) -> bool:
        """LIBERO's own `check_success()`: the task's BDDL goal holds now."""
        return self.server.check_success()

    def close(self) -> None:
        """The shared server stays up for the next world (it ends with the process)."""

    def __enter__(self) -> LiberoWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _interior_regions(self) -> dict[str, str]:
        """Thing -> the BDDL region things go *in*: a basket's or a caddy's contain region, a microwave's heating
        region, and each drawer (a token of its own, named by its region)."""
        out = {name: name for name, a in self._articulations.items() if a.name in self.info.regions}
        for region in self.info.regions.values():
            if region.target is not None and any(f"_{w}_region" in region.name for w in INTERIOR_WORDS):
                out.setdefault(region.target, region.name)
        return out

    def _place_regions(self) -> list[tuple[LiberoRegion, str, str]]:
        """BDDL regions an instruction can name as a destination, as (region, kind, label), read off their names:
        a spot on the table beside a thing ("living_room_table_plate_right_region" -> "right of the plate",
        "main_table_stove_front_region" -> "front of the stove") and a compartment of a thing
        ("desk_caddy_1_back_contain_region" -> "back compartment"). Init regions are where objects start."""
        out = []
        for region in self.info.regions.values():
            if region.target is None or region.pos_m is None or "init" in region.name.split("_"):
                continue
            words = region.name.removeprefix(f"{region.target}_").removesuffix("_region").split("_")
            if words[-1] == "contain" and len(words) == 2 and words[0] in RELATION_WORDS:
                out.append((region, "compartment", f"{words[0]} compartment"))
            elif len(words) >= 2 and words[-1] in RELATION_WORDS and region.ranges.size:
                out.append((region, "spot", f"{words[-1]} of the {' '.join(words[:-1])}"))
        return out

    def _region_states(self, tops: dict[str, float]) -> list[ObjectState]:
        """A token for each destination region (`_place_regions`): a flat spot on the table (a surface) or a
        compartment (a container), where its site is, as large as its BDDL rectangle. A compartment reaches up to
        the top of its thing's walls (`tops`: each thing's highest point, base frame): what goes in must clear them
        (a caddy's walls stand 8 cm above its back compartment's site)."""
        out = []
        for region, kind, label in self._places:
            centre = (self.T_base_world @ np.array([*region.pos_m, 1.0]))[:3]
            if kind == "spot":
                r = region.ranges[0]
                extent = np.array([abs(r[2] - r[0]), abs(r[3] - r[1]), 0.002])
                category = "surface"
            else:
                extent = self._compartment_size(region)
                bottom = centre[2] - 0.5 * extent[2]
                top = max(bottom + extent[2], tops.get(region.target, -np.inf))
                extent[2], centre[2] = top - bottom, 0.5 * (top + bottom)
                category = "container"
            out.append(ObjectState(
                name=region.name, label=label, position_m=centre, quat_wxyz=np.array([1.0, 0.0, 0.0, 0.0]),
                extent_m=extent, color_name="unknown", color_rgb=np.zeros(3), category=category))
        return out

    def _compartment_size(self, region: LiberoRegion) -> NDArray[np.float64]:
        """A compartment's box: as far as half the way to its nearest sibling each way, as tall as its site is
        below the thing's top (the site marks the compartment's floor)."""
        siblings = [r.pos_m for r, kind, _ in self._places if kind == "compartment" and r.target == region.target
                    and r.name != region.name]
        size = np.array([0.06, 0.06])
        for axis in (0, 1):
            gaps = [abs(p[axis] - region.pos_m[axis]) for p in siblings if abs(p[axis] - region.pos_m[axis]) > 0.01]
            if gaps:
                size[axis] = 0.9 * min(gaps)
        return np.array([*size, 0.04])

    def _support_regions(self) -> dict[str, LiberoRegion]:
        """Each fixture's surface to put things on: its highest BDDL region (a stove's cook region, a cabinet's
        top side above its drawers, a rack's top), found from the regions' sites, not from their names."""
        fixtures = {o.name for o in self.info.objects if o.fixture}
        best: dict[str, LiberoRegion] = {}
        for region in self.info.regions.values():
            usable = region.target in fixtures and region.pos_m is not None
            if usable and (region.target not in best or region.pos_m[2] > best[region.target].pos_m[2]):
                best[region.target] = region
        return best

    # --- frames ----------------------------------------------------------------------------
    def _to_base(self, T_world: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.T_base_world @ T_world

    def _pose(self, obs: LiberoObservation, name: str) -> NDArray[np.float64]:
        """T (4, 4) of object `name` in the robot's base frame."""
        p, q = obs.object_pose(name)
        T = np.eye(4)
        T[:3, :3] = Rotation.from_quat(q, scalar_first=True).as_matrix()
        T[:3, 3] = p
        return self._to_base(T)

    def _proprio(self, obs: LiberoObservation) -> Proprio:
        hand = self._to_base(obs.T_world_hand)
        T_ee = hand.copy()
        T_ee[:3, 3] = hand[:3, 3] + HAND_TO_TCP_M * hand[:3, 2]
        width = float(np.sum(np.abs(obs.gripper_qpos_m)))
        return Proprio(obs.joint_pos_rad, obs.joint_vel_radps, width, T_ee)

    def _objects(self, obs: LiberoObservation) -> list[ObjectState]:
        out = []
        tops: dict[str, float] = {}
        for name in obs.object_names:
            kind = self._kinds.get(name)
            if kind is None or kind.box_size_m is None:
                continue
            T = self._pose(obs, name)
            R = T[:3, :3]
            q = Rotation.from_matrix(R).as_quat(scalar_first=True)
            center = T[:3, 3] + R @ kind.box_center_m
            extent = np.abs(R) @ kind.box_size_m  # the world-aligned box around the rotated one
            colour, rgb = colour_of(kind.category)
            yaw = _long_axis_yaw(R, kind.box_size_m)
            category = hvla_category(kind.category, kind.fixture, name in self._interiors)
            tops[name] = float(center[2] + 0.5 * extent[2])  # its walls' top, before a surface's box replaces it
            support = self._supports.get(name)
            if support is not None:  # a fixture to put things on: stands for its surface, where things go
                category = "surface"
                top = (self.T_base_world @ np.array([*support.pos_m, 1.0]))[:3]
                if support.half_size_m is not None and support.half_size_m[0] > 0.02:  # the surface's own size
                    extent = np.array([*(np.abs(self.T_base_world[:3, :3]) @ (2 * support.half_size_m))[:2],
                                       extent[2]])
                center = np.array([top[0], top[1], top[2] - 0.5 * extent[2]])
            out.append(ObjectState(
                name=name, label=label_of(kind.category), position_m=center, quat_wxyz=q, extent_m=extent,
                color_name=colour, color_rgb=rgb, yaw_rad=yaw, category=category,
                articulation=self._articulation(obs, name), footprint_m=None if support is not None else
                footprint(R, kind.box_size_m, yaw)))
        return out + self._parts(obs) + self._region_states(tops)

    def _articulation(self, obs: LiberoObservation, name: str) -> Articulation | None:
        """How part `name` moves now, in the base frame (None: it does not, or the server has no state for it)."""
        a = self._articulations.get(name)
        state = (obs.joints or {}).get(name)
        if a is None or state is None or a.box_size_m is None:
            return None
        opened, closed = (a.ranges.get("open"), a.ranges.get("close")) if "open" in a.ranges else (
            a.ranges.get("turnon"), a.ranges.get("turnoff"))
        if opened is None or closed is None:
            return None
        T = self._to_base(state.T_world_body)
        R = self.T_base_world[:3, :3]
        grip_yaw = None
        if a.grip_box_size_m is not None:  # the grip's longer horizontal side, turned with the part
            grip_yaw = _long_axis_yaw(T[:3, :3], a.grip_box_size_m)
        return Articulation(
            kind=a.kind, axis=R @ state.axis, anchor_m=(self.T_base_world @ np.array([*state.anchor_m, 1.0]))[:3],
            q=state.q, open_range=opened, closed_range=closed, switch="turnon" in a.ranges,
            limits=(float(a.joint_range[0]), float(a.joint_range[1])), grip_yaw_rad=grip_yaw,
            part_center_m=T[:3, :3] @ a.box_center_m + T[:3, 3], part_extent_m=np.abs(T[:3, :3]) @ a.box_size_m)

    def _parts(self, obs: LiberoObservation) -> list[ObjectState]:
        """A token for each part that is named apart from its fixture (a drawer: BDDL's region of its slide
        joint, "wooden_cabinet_1_top_region" -> "top drawer"): the moving part's box, how it moves, and a
        container, since things go in it."""
        out = []
        for name, a in self._articulations.items():
            if name == a.parent or (art := self._articulation(obs, name)) is None:
                continue
            where = name.removeprefix(f"{a.parent}_").removesuffix("_region").replace("_", " ")
            noun = "drawer" if a.kind == "slide" else "door"
            colour, rgb = colour_of(self._kinds[a.parent].category) if a.parent in self._kinds else ("unknown",
                                                                                                      np.zeros(3))
            out.append(ObjectState(
                name=name, label=f"{where} {noun}".strip(), position_m=art.part_center_m, quat_wxyz=np.array(
                    [1.0, 0.0, 0.0, 0.0]), extent_m=art.part_extent_m, color_name=colour, color_rgb=rgb,
                yaw_rad=float(np.arctan2(art.axis[1], art.axis[0])), category="container", articulation=art))
        return out

    def _truth(self, obs: LiberoObservation) -> WorldTruth:
        return WorldTruth(objects=tuple(self._objects(obs)), grasped=obs.grasped, wiped_fraction=0.0)

    def _frame(self, camera: str, obs: LiberoObservation) -> CameraFrame:
        f = obs.cameras[CAMERAS[camera]]
        h, w = f.rgb.shape[:2]
        T = self._to_base(f.T_world_cam)
        depth = f.depth_m if f.depth_m is not None else np.zeros((h, w), np.float32)
        return CameraFrame(rgb=f.rgb, depth_m=depth, info=CameraInfo(camera, f.K, T, w, h), stamp_s=obs.t_s)


def _clear_of(tcp: NDArray[np.float64], art: Articulation) -> bool:
    """Whether the hand has left a part: risen above its top, or well away from it sideways (the next skill's
    path to its object starts at the carry height, which an open top drawer reaches above)."""
    top = float(art.part_center_m[2] + 0.5 * art.part_extent_m[2])
    outside = np.abs(tcp[:2] - art.part_center_m[:2]) - 0.5 * art.part_extent_m[:2]
    return float(tcp[2]) > top + HAND_CLEAR_M or float(np.max(outside)) > AWAY_M


def footprint(R: NDArray[np.float64], box_size_m: NDArray[np.float64], yaw_rad: float) -> NDArray[np.float64]:
    """(2,) how far the box (its size in its own frame, turned by R) reaches along the horizontal heading `yaw_rad`
    and across it: its own length and thickness when it stands turned about z (a book at 45 degrees: 11 x 3 cm,
    where its world-aligned box measures 10 x 10)."""
    along = np.array([np.cos(yaw_rad), np.sin(yaw_rad), 0.0])
    across = np.array([-along[1], along[0], 0.0])
    return np.array([float(np.abs(along @ R) @ box_size_m), float(np.abs(across @ R) @ box_size_m)])


def _long_axis_yaw(R: NDArray[np.float64], box_size_m: NDArray[np.float64]) -> float:
    """Heading of the object's longer horizontal box axis (its box may be rotated: LIBERO lays some objects
    on their side), the kitchen's `yaw_rad` convention: grasps close across it."""
    horizontal = [i for i in np.argsort(-np.abs(R[2]))[1:]]  # the two axes that lie flattest
    i = max(horizontal, key=lambda k: box_size_m[k] * float(np.linalg.norm(R[:2, k])))
    return float(np.arctan2(R[1, i], R[0, i]))


@WORLDS.register("libero", config=LiberoConfig)
def libero_world(config: LiberoConfig, seed: int = 0, image_size: int | None = None) -> LiberoWorld:
    """LIBERO task `config.task` of `config.suite` from official init state `config.init_index` (None: `seed`)."""
    return LiberoWorld(config, seed, image_size or 128)
