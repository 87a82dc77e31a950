"""`KitchenWorld`: the simulated kitchen that implements the `Robot` interface.

Physics runs at 500 Hz; one `command` is one control period. Every step reads MuJoCo's warning
counters: MuJoCo silently resets unstable states, and such a state must never become data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import mujoco
import numpy as np

from hvla.core import panda
from hvla.core.errors import ConfigError, SimulationError
from hvla.core.messages import CameraFrame, ObjectState, Observation, Proprio, Scene, Subgoal, WorldTruth
from hvla.core.robot import JointCommand, JointLimits
from hvla.sim import predicates
from hvla.sim.builder import DIRT_CELLS, SCENE_CAMERA, WRIST_CAMERA, build_kitchen_spec
from hvla.sim.cameras import CameraRig
from hvla.sim.objects import CLASSES, object_extent_m
from hvla.sim.panda import ARM_KD, ARM_KP, TCP_SITE
from hvla.sim.registry import WORLDS
from hvla.sim.scene import KitchenLayout, SceneConfig, sample_layout
from hvla.sim.success import skill_succeeded

CAMERAS = (SCENE_CAMERA, WRIST_CAMERA)
_ROUND = ("sphere", "bowl", "cup", "plate")


@dataclass(frozen=True)
class SimConfig:
    timestep_s: float = 0.002
    control_dt_s: float = 0.002
    image_height: int = 128
    image_width: int = 128
    segmentation: bool = False  # ground-truth masks cost one more render per camera
    wipe_check_every: int = 5  # physics steps between dirt-coverage updates

    def __post_init__(self) -> None:
        ratio = self.control_dt_s / self.timestep_s
        if self.timestep_s <= 0 or ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
            raise ConfigError(
                f"control_dt_s={self.control_dt_s} must be a positive multiple of timestep_s={self.timestep_s}"
            )
        if not (16 <= self.image_height <= 480 and 16 <= self.image_width <= 640):
            raise ConfigError(f"image size {self.image_height}x{self.image_width} outside 16..480 x 16..640")


class KitchenWorld:
    """A seeded kitchen tabletop with a Franka Panda. Same seed, same world, bit for bit."""

    cameras: tuple[str, ...] = CAMERAS
    fingertip_above_tcp_m: float = -0.0095  # the finger boxes of example-robot-data's Panda reach below the TCP
    rim_grasp_depth_m: float = 0.02
    speaker_left_xy: tuple[float, float] | None = None  # the kitchen's instructions take the robot's left
    table_z_m: float = 0.0  # the counter top is the base's height

    def __init__(self, seed: int = 0, scene: SceneConfig | None = None, config: SimConfig | None = None):
        self.config = config or SimConfig()
        self.layout: KitchenLayout = sample_layout(seed, scene)
        spec = build_kitchen_spec(self.layout)
        spec.option.timestep = self.config.timestep_s
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.control_dt_s = self.config.control_dt_s
        self.limits = JointLimits.panda()
        self._substeps = round(self.config.control_dt_s / self.config.timestep_s)
        self._arm_qpos = np.array([self.model.joint(n).qposadr[0] for n in panda.ARM_JOINTS])
        self._arm_dof = np.array([self.model.joint(n).dofadr[0] for n in panda.ARM_JOINTS])
        self._finger_qpos = np.array([self.model.joint(n).qposadr[0] for n in panda.FINGER_JOINTS])
        self._tcp = self.model.site(TCP_SITE).id
        self._object_names = self.layout.names()
        self._object_bodies = [self.model.body(n).id for n in self._object_names]
        self._finger_bodies = {self.model.body("panda_leftfinger").id, self.model.body("panda_rightfinger").id}
        self._dirt_cells = self._dirt_cell_geoms()
        self._wiped = np.zeros(DIRT_CELLS, dtype=bool)
        self._rig: CameraRig | None = None
        self._steps = 0
        self.reset()

    # --- Robot interface -------------------------------------------------------------------
    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        names = CAMERAS if cameras is None else tuple(cameras)
        frames = {name: self.render(name) for name in names}
        return Observation(t_s=float(self.data.time), proprio=self.proprio(), frames=frames, truth=self.truth())

    def command(self, cmd: JointCommand) -> None:
        # Feed-forward velocity through the position servo: u = kp (q* - q) + kd (dq* - dq).
        self.data.ctrl[:7] = cmd.q_rad + ARM_KD / ARM_KP * cmd.dq_radps
        self.data.ctrl[7] = np.clip(cmd.gripper_m / 2.0, 0.0, panda.GRIPPER_MAX_M / 2)
        self.step(self._substeps)

    # --- World interface -------------------------------------------------------------------
    def succeeded(self, subgoal: Subgoal, scene: Scene) -> bool:
        """The kitchen's own predicates on simulator truth (`hvla.sim.success`)."""
        return skill_succeeded(subgoal, scene)

    # --- simulation ------------------------------------------------------------------------
    def reset(self, q_rad: np.ndarray | None = None) -> None:
        mujoco.mj_resetData(self.model, self.data)
        q = panda.Q_READY_RAD if q_rad is None else np.asarray(q_rad, float)
        self.data.qpos[self._arm_qpos] = q
        self.data.qpos[self._finger_qpos] = panda.GRIPPER_MAX_M / 2
        self.data.ctrl[:7] = q
        self.data.ctrl[7] = panda.GRIPPER_MAX_M / 2
        self._wiped[:] = False
        self._paint_dirt()
        mujoco.mj_forward(self.model, self.data)
        self.settle(0.3)

    def settle(self, duration_s: float) -> None:
        """Let objects come to rest with the arm holding its setpoint."""
        self.step(int(round(duration_s / self.config.timestep_s)))

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            mujoco.mj_step(self.model, self.data)
            self._steps += 1
            if self._steps % self.config.wipe_check_every == 0:
                self._update_wiped()
        self._check_stable()

    def _check_stable(self) -> None:
        warnings = [w for w in mujoco.mjtWarning.__members__.values() if w != mujoco.mjtWarning.mjNWARNING]
        for w in warnings:
            if self.data.warning[int(w)].number > 0:
                raise SimulationError(f"MuJoCo warning {w.name} at t={self.data.time:.3f}s: physics unstable")
        if not np.isfinite(self.data.qpos).all():
            raise SimulationError(f"NaN in the simulation state at t={self.data.time:.3f}s")

    # --- state ------------------------------------------------------------------------------
    def proprio(self) -> Proprio:
        T = np.eye(4)
        T[:3, :3] = self.data.site_xmat[self._tcp].reshape(3, 3)
        T[:3, 3] = self.data.site_xpos[self._tcp]
        return Proprio(
            q_rad=self.data.qpos[self._arm_qpos].copy(),
            dq_radps=self.data.qvel[self._arm_dof].copy(),
            gripper_m=float(self.data.qpos[self._finger_qpos].sum()),
            T_world_ee=T,
        )

    def truth(self) -> WorldTruth:
        objects = tuple(self.object_state(i) for i in range(len(self._object_names)))
        grasped = self.grasped_object()
        return WorldTruth(
            objects=objects,
            grasped=grasped,
            wiped_fraction=float(self._wiped.mean()),
            dirt_center_m=np.array([*self.layout.dirt_center_m, 0.0]),
            dirt_size_m=np.array(self.layout.dirt_size_m),
            relations=predicates.relations(objects, grasped),
        )

    def object_state(self, index: int) -> ObjectState:
        spec = self.layout.objects[index]
        body = self._object_bodies[index]
        cls = CLASSES[spec.label]
        R = self.data.xmat[body].reshape(3, 3)
        local = object_extent_m(cls, spec.scale)
        return ObjectState(
            name=spec.name,
            label=spec.label,
            position_m=self.data.xpos[body].copy(),
            quat_wxyz=self.data.xquat[body].copy(),
            # Round shapes keep their footprint under yaw; a box bound would grow with rotation.
            extent_m=local if cls.shape in _ROUND else np.abs(R) @ local,
            color_name=spec.color_name,
            color_rgb=np.array(spec.rgb),
            category=cls.category,
            yaw_rad=float(np.arctan2(R[1, 0], R[0, 0])),
        )

    def grasped_object(self) -> str | None:
        """The object both fingers touch, if any."""
        touching: dict[int, set[int]] = {}
        ncon = self.data.ncon
        if ncon == 0:
            return None
        geoms = self.data.contact.geom[:ncon]
        bodies = self.model.geom_bodyid[geoms]
        for b1, b2 in bodies:
            if b1 in self._finger_bodies:
                touching.setdefault(int(b2), set()).add(int(b1))
            elif b2 in self._finger_bodies:
                touching.setdefault(int(b1), set()).add(int(b2))
        for body, fingers in touching.items():
            if len(fingers) == 2 and body in self._object_bodies:
                return self._object_names[self._object_bodies.index(body)]
        return None

    # --- wiping -----------------------------------------------------------------------------
    def _dirt_cell_geoms(self) -> np.ndarray:
        nx, ny = DIRT_CELLS
        return np.array([[self.model.geom(f"dirt_{i}_{j}").id for j in range(ny)] for i in range(nx)])

    def _update_wiped(self) -> None:
        if "sponge" not in self._object_names:
            return
        body = self._object_bodies[self._object_names.index("sponge")]
        pos = self.data.xpos[body]
        R = self.data.xmat[body].reshape(3, 3)
        half = np.array(CLASSES["sponge"].size) * self.layout.objects[self._object_names.index("sponge")].scale
        if pos[2] - np.abs(R[2]) @ half > 0.006:  # the sponge must touch the table
            return
        centres = self.data.geom_xpos[self._dirt_cells.ravel()][:, :2]
        local = (centres - pos[:2]) @ R[:2, :2]
        covered = (np.abs(local) <= half[:2] + 0.005).all(axis=1).reshape(self._wiped.shape)
        if (covered & ~self._wiped).any():
            self._wiped |= covered
            self._paint_dirt()

    def _paint_dirt(self) -> None:
        self.model.geom_rgba[self._dirt_cells.ravel(), 3] = np.where(self._wiped.ravel(), 0.0, 1.0)

    # --- cameras ----------------------------------------------------------------------------
    def render(self, camera: str) -> CameraFrame:
        if camera not in CAMERAS:
            raise ConfigError(f"unknown camera '{camera}'; cameras: {list(CAMERAS)}")
        if self._rig is None:
            self._rig = CameraRig(self.model, self.data, self.config.image_height, self.config.image_width)
            self._rig.set_object_bodies(self._object_bodies)
        return self._rig.render(camera, segmentation=self.config.segmentation)

    def close(self) -> None:
        if self._rig is not None:
            self._rig.close()
            self._rig = None

    def __enter__(self) -> KitchenWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class KitchenConfig:
    """The kitchen world's settings: which objects its scenes draw (None: the default mix) and the simulator."""

    scene: SceneConfig | None = None
    sim: SimConfig = field(default_factory=SimConfig)


@WORLDS.register("kitchen", config=KitchenConfig)
def kitchen_world(config: KitchenConfig, seed: int = 0, image_size: int | None = None) -> KitchenWorld:
    """The kitchen of `seed`, its cameras rendering `image_size` px squares (None: the config's size)."""
    sim = config.sim if image_size is None else replace(config.sim, image_height=image_size, image_width=image_size)
    return KitchenWorld(seed=seed, scene=config.scene, config=sim)
