"""The messages that cross layer boundaries: frozen, validated on construction, SI units, world frame.

Conventions used throughout hvla:
- `T_a_b` is the 4x4 homogeneous pose of frame b expressed in frame a (`T_world_cam`, `T_world_ee`).
- Quaternions are (w, x, y, z). Suffixes give units: `_m`, `_rad`, `_s`, `_hz`, `_mps`, `_radps`.
- Shape letters: H, W image height/width [px]; K chunk length; N objects; D feature size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import MessageError

FloatArray = NDArray[np.float64]


def _array(name: str, value: Any, shape: tuple[int | None, ...], dtype: Any = np.float64) -> NDArray:
    """A read-only copy of `value` checked for shape (None = any size) and finite values."""
    arr = np.array(value, dtype=dtype, copy=True)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = tuple("*" if s is None else s for s in shape)
        raise MessageError(f"{name} has shape {arr.shape}, expected {want}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():  # kind "f" is np.floating, 3 us cheaper per message
        raise MessageError(f"{name} holds NaN or inf")
    arr.flags.writeable = False
    return arr


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class CameraInfo:
    """Pinhole intrinsics and pose of one camera. The camera looks along its +z (OpenCV frame)."""

    name: str
    K: FloatArray  # (3, 3) intrinsics [px]
    T_world_cam: FloatArray  # (4, 4) OpenCV camera frame (x right, y down, z forward) in world
    width: int
    height: int

    def __post_init__(self) -> None:
        _set(self, "K", _array(f"camera {self.name}: K", self.K, (3, 3)))
        _set(self, "T_world_cam", _array(f"camera {self.name}: T_world_cam", self.T_world_cam, (4, 4)))
        if self.width <= 0 or self.height <= 0:
            raise MessageError(f"camera {self.name}: size {self.width}x{self.height} must be positive")


@dataclass(frozen=True)
class CameraFrame:
    """One rendered view. `depth_m` may hold NaN where the sensor has no return (kept, not rejected)."""

    info: CameraInfo
    rgb: NDArray[np.uint8]  # (H, W, 3)
    depth_m: NDArray[np.float32]  # (H, W) metres along the optical axis
    segmentation: NDArray[np.int32] | None = None  # (H, W) ground-truth object ids, -1 = background
    stamp_s: float | None = None  # capture time on the observation's clock; None: captured with it

    def __post_init__(self) -> None:
        h, w = self.info.height, self.info.width
        rgb = np.asarray(self.rgb)
        if rgb.shape != (h, w, 3) or rgb.dtype != np.uint8:
            raise MessageError(f"camera {self.info.name}: rgb {rgb.shape} {rgb.dtype}, expected ({h}, {w}, 3) uint8")
        depth = np.asarray(self.depth_m, dtype=np.float32)
        if depth.shape != (h, w):
            raise MessageError(f"camera {self.info.name}: depth_m shape {depth.shape}, expected ({h}, {w})")
        _set(self, "depth_m", depth)
        if self.segmentation is not None and np.asarray(self.segmentation).shape != (h, w):
            raise MessageError(f"camera {self.info.name}: segmentation shape mismatch")


@dataclass(frozen=True)
class Proprio:
    """What the robot knows about itself."""

    q_rad: FloatArray  # (7,) arm joint angles
    dq_radps: FloatArray  # (7,) arm joint velocities
    gripper_m: float  # opening between the fingers [m], 0 .. 0.08
    T_world_ee: FloatArray  # (4, 4) tool centre point (between the fingertips)

    def __post_init__(self) -> None:
        _set(self, "q_rad", _array("q_rad", self.q_rad, (7,)))
        _set(self, "dq_radps", _array("dq_radps", self.dq_radps, (7,)))
        _set(self, "T_world_ee", _array("T_world_ee", self.T_world_ee, (4, 4)))
        if not np.isfinite(self.gripper_m):
            raise MessageError("gripper_m is NaN or inf")

    @property
    def ee_position_m(self) -> FloatArray:
        return self.T_world_ee[:3, 3]


@dataclass(frozen=True)
class Articulation:
    """How a part moves, for the skills that open, close or turn it: a drawer slides along `axis` [m], a door
    or a knob turns about `axis` through `anchor_m` [rad] (right-handed). `q` is the joint's value now;
    `open_range` and `closed_range` are the values counted as open and closed (for a switch: on and off),
    as the world's own predicates judge them. `part_center_m` / `part_extent_m`: the world-aligned box of
    the moving part (the drawer with its handle, the door, the knob)."""

    kind: str  # "slide" | "hinge"
    axis: FloatArray  # (3,) unit, world frame
    anchor_m: FloatArray  # (3,) a point on the axis, world frame
    q: float
    open_range: tuple[float, float]
    closed_range: tuple[float, float]
    part_center_m: FloatArray  # (3,)
    part_extent_m: FloatArray  # (3,)
    switch: bool = False  # a knob or a button: "turn on" opens it, "turn off" closes it
    limits: tuple[float, float] | None = None  # the joint's range, where the world knows it
    grip_yaw_rad: float | None = None  # heading of the long side of what fingers close on (a knob's fin), if known

    def __post_init__(self) -> None:
        if self.kind not in ("slide", "hinge"):
            raise MessageError(f"articulation kind {self.kind!r} is not 'slide' or 'hinge'")
        axis = _array("articulation axis", self.axis, (3,))
        norm = float(np.linalg.norm(axis))
        if norm < 1e-9:
            raise MessageError("articulation axis has zero length")
        _set(self, "axis", _array("articulation axis", axis / norm, (3,)))
        _set(self, "anchor_m", _array("articulation anchor_m", self.anchor_m, (3,)))
        _set(self, "part_center_m", _array("articulation part_center_m", self.part_center_m, (3,)))
        _set(self, "part_extent_m", _array("articulation part_extent_m", self.part_extent_m, (3,)))
        if not np.isfinite(self.q):
            raise MessageError("articulation q is NaN or inf")

    @property
    def is_open(self) -> bool:
        lo, hi = self.open_range
        return lo <= self.q <= hi or _beyond(self.q, self.open_range, self.closed_range)

    @property
    def is_closed(self) -> bool:
        lo, hi = self.closed_range
        return lo <= self.q <= hi or _beyond(self.q, self.closed_range, self.open_range)

    @property
    def opening_sign(self) -> float:
        """+1 when opening increases q, else -1."""
        return 1.0 if sum(self.open_range) > sum(self.closed_range) else -1.0


def _beyond(q: float, near: tuple[float, float], far: tuple[float, float]) -> bool:
    """q lies past the `near` range, on the side away from `far` (a drawer pulled further than 'open')."""
    return q > max(near) if sum(near) > sum(far) else q < min(near)


@dataclass(frozen=True)
class ObjectState:
    """Simulator ground truth for one object. A real robot has none; oracle layers read it."""

    name: str  # unique instance name in the scene, e.g. "banana" or "distractor_0"
    label: str  # class, e.g. "banana"
    position_m: FloatArray  # (3,) centre of the bounding box, world frame
    quat_wxyz: FloatArray  # (4,)
    extent_m: FloatArray  # (3,) full size of the world-aligned bounding box
    color_name: str
    color_rgb: FloatArray  # (3,) in [0, 1]
    category: str  # "fruit", "container", "tool", "distractor"
    yaw_rad: float = 0.0  # heading of the object's long horizontal axis
    articulation: Articulation | None = None  # a drawer, door or knob: how it moves
    # (2,) its own horizontal size, along yaw_rad and across it, where known: a book standing at 45 degrees has a
    # world-aligned box 10 x 10 cm, yet is 3 cm thick
    footprint_m: FloatArray | None = None

    def __post_init__(self) -> None:
        _set(self, "position_m", _array(f"{self.name}: position_m", self.position_m, (3,)))
        if self.footprint_m is not None:
            _set(self, "footprint_m", _array(f"{self.name}: footprint_m", self.footprint_m, (2,)))
        _set(self, "quat_wxyz", _array(f"{self.name}: quat_wxyz", self.quat_wxyz, (4,)))
        _set(self, "extent_m", _array(f"{self.name}: extent_m", self.extent_m, (3,)))
        _set(self, "color_rgb", _array(f"{self.name}: color_rgb", self.color_rgb, (3,)))


@dataclass(frozen=True)
class WorldTruth:
    """Everything the simulator knows that a sensor would not tell: used by oracles and predicates."""

    objects: tuple[ObjectState, ...]
    grasped: str | None  # name of the object held between the fingers, if any
    wiped_fraction: float  # fraction of the dirt patch the sponge has covered, 0 .. 1
    dirt_center_m: FloatArray = field(default_factory=lambda: np.zeros(3))
    dirt_size_m: FloatArray = field(default_factory=lambda: np.zeros(2))
    relations: Mapping[str, str] = field(default_factory=dict)  # object name -> container/surface it is in/on

    def __post_init__(self) -> None:
        _set(self, "relations", MappingProxyType(dict(self.relations)))

    def object(self, name: str) -> ObjectState:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise MessageError(f"no object '{name}' in the scene; objects: {[o.name for o in self.objects]}")


@dataclass(frozen=True)
class Observation:
    """One synchronous snapshot of the robot and its cameras at time `t_s`."""

    t_s: float
    proprio: Proprio
    frames: Mapping[str, CameraFrame] = field(default_factory=dict)
    truth: WorldTruth | None = None  # present in simulation only

    def __post_init__(self) -> None:
        if not np.isfinite(self.t_s):
            raise MessageError("t_s is NaN or inf")
        _set(self, "frames", MappingProxyType(dict(self.frames)))


@dataclass(frozen=True)
class ObjectToken:
    """One object as perception reports it: the unit the planner grounds and the policy attends to."""

    track_id: int
    label: str
    score: float
    position_m: FloatArray  # (3,) world frame
    extent_m: FloatArray  # (3,) world-aligned box size
    color_name: str
    color_rgb: FloatArray  # (3,) in [0, 1]
    feature: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # (D,)
    yaw_rad: float = 0.0
    category: str = "object"
    box_xyxy: FloatArray | None = None  # (4,) in the camera that saw it best [px]
    mask: NDArray[np.bool_] | None = None  # (H, W) in that camera
    name: str = ""  # instance name when known (oracle), else label + track id
    articulation: Articulation | None = None  # a part that opens, closes or turns (a drawer, a door, a knob)
    footprint_m: FloatArray | None = None  # (2,) its own horizontal size along yaw_rad and across, where known

    def __post_init__(self) -> None:
        _set(self, "position_m", _array(f"token {self.label}: position_m", self.position_m, (3,)))
        if self.footprint_m is not None:
            _set(self, "footprint_m", _array(f"token {self.label}: footprint_m", self.footprint_m, (2,)))
        _set(self, "extent_m", _array(f"token {self.label}: extent_m", self.extent_m, (3,)))
        _set(self, "color_rgb", _array(f"token {self.label}: color_rgb", self.color_rgb, (3,)))
        _set(self, "feature", _array(f"token {self.label}: feature", self.feature, (None,), np.float32))
        if self.box_xyxy is not None:
            _set(self, "box_xyxy", _array(f"token {self.label}: box_xyxy", self.box_xyxy, (4,)))
        if not 0.0 <= self.score <= 1.0:
            raise MessageError(f"token {self.label}: score {self.score} outside [0, 1]")
        if (self.extent_m < 0).any():
            raise MessageError(f"token {self.label}: negative extent {self.extent_m}")
        if not self.name:
            _set(self, "name", f"{self.label}_{self.track_id}")


NO_USABLE_CAMERA = "no_usable_camera"  # a Scene flag: every camera the perception reads was unusable


@dataclass(frozen=True)
class Scene:
    """The tokens perception produced from one observation."""

    tokens: tuple[ObjectToken, ...]
    observation: Observation
    flags: tuple[str, ...] = ()  # e.g. ("invalid_depth:scene",) when a frame could not be used

    def __post_init__(self) -> None:
        _set(self, "tokens", tuple(self.tokens))

    def find(self, name: str) -> ObjectToken | None:
        """The token whose instance name (or, failing that, label) is `name`."""
        for tok in self.tokens:
            if tok.name == name:
                return tok
        for tok in self.tokens:
            if tok.label == name:
                return tok
        return None


ScenePredicate = Callable[["Scene"], bool]


@dataclass(frozen=True)
class Subgoal:
    """One step of a plan: a skill name and its grounded arguments (object instance names)."""

    id: str
    skill: str
    args: Mapping[str, str] = field(default_factory=dict)
    success: ScenePredicate | None = None  # overrides the skill's own predicate when given
    timeout_s: float | None = None  # None: the executor uses the skill's own time budget
    # The operator's own words for this step, for a policy that reads words itself (the end-to-end
    # baseline); never an object, so it is not among `args`. "" = none given.
    instruction: str = ""

    def __post_init__(self) -> None:
        if not self.id or not self.skill:
            raise MessageError("subgoal needs a non-empty id and skill")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise MessageError(f"subgoal {self.id}: timeout_s={self.timeout_s} must be > 0")
        _set(self, "args", MappingProxyType({str(k): str(v) for k, v in self.args.items()}))

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args.items())
        return f"{self.skill}({args})"

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "skill": self.skill, "args": dict(self.args)}
        return {**out, "instruction": self.instruction} if self.instruction else out


@dataclass(frozen=True)
class Plan:
    """A DAG of subgoals. An edge u -> v means u must succeed before v starts."""

    graph: nx.DiGraph
    instruction: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how the planner read what it was not given as typed ("'aple' read as 'apple'")

    def __post_init__(self) -> None:
        for node, data in self.graph.nodes(data=True):
            if not isinstance(data.get("subgoal"), Subgoal):
                raise MessageError(f"plan node {node!r} has no Subgoal under key 'subgoal'")
        if not nx.is_directed_acyclic_graph(self.graph):
            raise MessageError("plan graph has a cycle")
        _set(self, "scores", MappingProxyType(dict(self.scores)))

    @classmethod
    def sequence(cls, subgoals: list[Subgoal], instruction: str = "", **scores: float) -> Plan:
        graph = nx.DiGraph()
        for sg in subgoals:
            graph.add_node(sg.id, subgoal=sg)
        for a, b in zip(subgoals, subgoals[1:]):
            graph.add_edge(a.id, b.id)
        return cls(graph, instruction, scores)

    def subgoals(self) -> list[Subgoal]:
        """Subgoals in a deterministic topological order (ties broken by id)."""
        order = nx.lexicographical_topological_sort(self.graph)
        return [self.graph.nodes[n]["subgoal"] for n in order]

    def edges(self) -> list[tuple[str, str]]:
        return sorted(self.graph.edges())

    def to_json(self) -> dict[str, Any]:
        return {
            "subgoals": [sg.to_json() for sg in self.subgoals()],
            "edges": [list(e) for e in self.edges()],
            "scores": dict(self.scores),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ActionChunk:
    """K end-effector targets, `dt_s` apart, for the controllers. Produced by skills."""

    ee_targets: FloatArray  # (K, 7) position [m] + quaternion wxyz, world frame
    gripper_m: FloatArray  # (K,) commanded finger opening [m]; 0 means close (grasp)
    confidence: float = 1.0  # in [0, 1]
    dt_s: float = 0.1

    def __post_init__(self) -> None:
        targets = _array("ee_targets", self.ee_targets, (None, 7))
        if targets.shape[0] == 0:
            raise MessageError("ee_targets is empty: an action chunk needs K >= 1 targets")
        norms = np.linalg.norm(targets[:, 3:], axis=1)
        if np.any(np.abs(norms - 1.0) > 1e-3):
            raise MessageError(f"ee_targets quaternions are not unit length (norms {np.round(norms, 4)})")
        _set(self, "ee_targets", targets)
        _set(self, "gripper_m", _array("gripper_m", self.gripper_m, (targets.shape[0],)))
        if not 0.0 <= self.confidence <= 1.0:
            raise MessageError(f"confidence {self.confidence} outside [0, 1]")
        if self.dt_s <= 0:
            raise MessageError(f"dt_s={self.dt_s} must be > 0")

    def __len__(self) -> int:
        return int(self.ee_targets.shape[0])
