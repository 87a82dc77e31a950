"""Disturbances for robustness benchmarks and DAgger roll-outs: a moved object, occlusion, clutter.

`occlusion` drops object tokens (it tests what acts on tokens); `camera_occlusion` covers part of
the camera images themselves, so it disturbs every stack alike, a detector and a pixels-to-actions
network included.

Each is a thin wrapper around the `Robot` or the perception, so the executor loop runs unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import mujoco
import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import Observation, Scene
from hvla.core.robot import JointCommand
from hvla.sim.scene import SceneConfig
from hvla.sim.world import KitchenWorld

DISTURBANCES = ("none", "moved_object", "occlusion", "camera_occlusion", "distractors")


@dataclass(frozen=True)
class Disturbance:
    kind: str = "none"
    shift_m: tuple[float, float] = (0.03, 0.05)  # moved_object: how far the object jumps
    drop_p: float = 0.3  # occlusion: probability that a token is missing from a frame (camera_occlusion: a view)
    cover: tuple[float, float] = (0.3, 0.5)  # camera_occlusion: side of the occluder, as a share of the image
    extra_distractors: int = 3  # distractors: blocks on top of the scene's own

    def __post_init__(self) -> None:
        if self.kind not in DISTURBANCES:
            raise ConfigError(f"unknown disturbance '{self.kind}'; known: {list(DISTURBANCES)}")

    def scene(self, scene: SceneConfig) -> SceneConfig:
        if self.kind != "distractors":
            return scene
        lo, hi = scene.distractors
        return replace(scene, distractors=(lo + self.extra_distractors, hi + self.extra_distractors))


class MovedObjectRobot:
    """Moves `target` once, sideways by a few cm, as the open hand comes down to grasp it."""

    def __init__(self, world: KitchenWorld, target: str, seed: int, shift_m: tuple[float, float]) -> None:
        self.world = world
        self.target = target
        self.control_dt_s = world.control_dt_s
        self.limits = world.limits
        self.rng = np.random.default_rng([seed, 31337])
        self.shift_m = shift_m
        self.moved_at_s: float | None = None

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        obs = self.world.observe(cameras)
        if self.moved_at_s is None and obs.truth is not None and self._hand_closing_in(obs):
            self._move()
            self.moved_at_s = obs.t_s
            obs = self.world.observe(cameras)
        return obs

    def command(self, cmd: JointCommand) -> None:
        self.world.command(cmd)

    def close(self) -> None:
        self.world.close()

    def _hand_closing_in(self, obs: Observation) -> bool:
        assert obs.truth is not None
        obj = obs.truth.object(self.target)
        ee = obs.proprio.ee_position_m
        near_xy = np.linalg.norm(ee[:2] - obj.position_m[:2]) < 0.03
        top = obj.position_m[2] + 0.5 * obj.extent_m[2]
        return bool(near_xy and ee[2] < top + 0.07 and obs.proprio.gripper_m > 0.06 and obs.truth.grasped is None)

    def _move(self) -> None:
        """Jump sideways to a free spot (no overlap with other objects), at rest."""
        world = self.world
        truth = world.truth()
        obj = truth.object(self.target)
        others = [o for o in truth.objects if o.name != self.target]
        radius = 0.5 * float(np.hypot(*obj.extent_m[:2]))
        adr = world.model.joint(f"{self.target}/free").qposadr[0]
        dof = world.model.joint(f"{self.target}/free").dofadr[0]
        for _ in range(24):
            angle = self.rng.uniform(0, 2 * np.pi)
            dxy = self.rng.uniform(*self.shift_m) * np.array([np.cos(angle), np.sin(angle)])
            xy = obj.position_m[:2] + dxy
            clear = all(np.linalg.norm(xy - o.position_m[:2]) > radius + 0.5 * float(np.hypot(*o.extent_m[:2]))
                        for o in others if o.category != "container" or o.name != self.target)
            if clear:
                world.data.qpos[adr:adr + 2] += dxy
                world.data.qvel[dof:dof + 6] = 0.0
                mujoco.mj_forward(world.model, world.data)
                return
        # Nowhere free: leave it (the episode then counts as undisturbed, like a real bump that missed).


class OccludedPerception:
    """Drops each token from each frame with probability `drop_p` (partial occlusion, missed detections)."""

    def __init__(self, inner, drop_p: float, seed: int) -> None:
        self.inner = inner
        self.cameras = inner.cameras
        self.drop_p = drop_p
        self.rng = np.random.default_rng([seed, 4242])

    def reset(self) -> None:
        self.inner.reset()

    def perceive(self, obs: Observation) -> Scene:
        scene = self.inner.perceive(obs)
        kept = tuple(t for t in scene.tokens if self.rng.random() >= self.drop_p)
        return Scene(kept, scene.observation, scene.flags)


class OccludedCamerasRobot:
    """Puts an occluder in front of each camera in a frame with probability `p`: a box of solid colour
    covering `cover` of the image side, 10 cm from the lens (depth too), somewhere new every time."""

    NEAR_M = 0.1

    def __init__(self, robot, p: float, cover: tuple[float, float], seed: int) -> None:
        self.robot = robot
        self.control_dt_s = robot.control_dt_s
        self.limits = robot.limits
        self.p, self.cover = p, cover
        self.rng = np.random.default_rng([seed, 4343])

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        obs = self.robot.observe(cameras)
        if not obs.frames:
            return obs
        frames = dict(obs.frames)
        for name, frame in obs.frames.items():
            if self.rng.random() >= self.p:
                continue
            h, w = frame.rgb.shape[:2]
            side = self.rng.uniform(*self.cover, size=2) * (h, w)
            y0, x0 = (int(self.rng.uniform(0, n - s)) for n, s in zip((h, w), side))
            y1, x1 = y0 + int(side[0]), x0 + int(side[1])
            rgb, depth = frame.rgb.copy(), frame.depth_m.copy()
            rgb[y0:y1, x0:x1] = self.rng.integers(0, 256, 3, dtype=np.uint8)
            depth[y0:y1, x0:x1] = self.NEAR_M
            frames[name] = replace(frame, rgb=rgb, depth_m=depth, segmentation=None)
        return replace(obs, frames=frames)

    def command(self, cmd: JointCommand) -> None:
        self.robot.command(cmd)

    def close(self) -> None:
        self.robot.close()
