"""Labelled renders from the simulator, written as an ultralytics segmentation dataset.

    hvla perception dataset --out data/perception     (or `hvla train dataset`)

Every kitchen seed gives a few *views*: the arm in a random pose (at the ready pose, hovering over an
object, holding one), objects moved into containers, the sponge on a half-wiped dirt patch; both
cameras are rendered. Ground truth comes from the renderer's segmentation (objects) and from the
dirt patch's geometry (pixels on the table inside the patch that are still dirty). Each instance mask
becomes one polygon line of an ultralytics label file.

Splits are by seed range, disjoint from the seeds the loop benchmarks use (0..999). The mango is never
in train / val / test scenes; the "novel" split always holds one (it is not a class: see README).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hvla.core import panda
from hvla.core.errors import ConfigError, UnreachableError
from hvla.core.messages import CameraFrame, ObjectState, Observation
from hvla.sim.objects import CLASSES, object_extent_m
from hvla.sim.scene import SceneConfig
from hvla.sim.world import CAMERAS, KitchenWorld, SimConfig

# Detector classes, in label-id order. "dirt" is the wipeable patch (reported as region "counter").
CLASS_NAMES: tuple[str, ...] = ("banana", "apple", "lemon", "sponge", "block", "bowl", "cup", "plate", "dirt")
NOVEL_CLASSES: tuple[str, ...] = ("mango",)
DIRT = "dirt"
SPLIT_FIRST_SEED = {"train": 10_000, "val": 20_000, "test": 30_000, "novel": 40_000}
_HOLDABLE = ("banana", "apple", "lemon", "sponge", "block", "mango")
_FRUIT_FOR_CONTAINERS = ("banana", "apple", "lemon", "mango", "block")
_DIRT_TOP_M = 0.0025  # table-top points below this height inside the patch are dirt


@dataclass(frozen=True)
class DatasetConfig:
    """How many kitchens per split and what varies between views."""

    scenes: dict[str, int] = field(default_factory=lambda: {"train": 700, "val": 60, "test": 120, "novel": 60})
    views_per_scene: int = 3
    image_sizes: tuple[int, ...] = (224, 224, 128)  # one is drawn per kitchen; 224 is the model's input
    min_pixels: int = 10  # smaller visible fragments are not labelled
    distractors: tuple[int, int] = (0, 3)

    def __post_init__(self) -> None:
        unknown = set(self.scenes) - set(SPLIT_FIRST_SEED)
        if unknown:
            raise ConfigError(f"unknown splits {sorted(unknown)}; splits: {sorted(SPLIT_FIRST_SEED)}")
        if self.views_per_scene < 1 or self.min_pixels < 1:
            raise ConfigError("views_per_scene and min_pixels must be >= 1")


@dataclass(frozen=True)
class LabelledFrame:
    """One rendered camera frame with its instance masks: (class name, object name, mask (H, W))."""

    seed: int
    view: int
    frame: CameraFrame
    instances: tuple[tuple[str, str, NDArray[np.bool_]], ...]
    objects: tuple[ObjectState, ...] = ()  # ground truth at the time of the frame


def scene_config(split: str, distractors: tuple[int, int] = (0, 3)) -> SceneConfig:
    """Kitchens of a split: the mango only (and always) in "novel"; the cup in about half."""
    if split == "novel":
        return SceneConfig(optional=("cup",), optional_p=0.5, distractors=distractors,
                           required=(*SceneConfig().required, "mango"))
    return SceneConfig(optional=("cup",), optional_p=0.5, exclude=NOVEL_CLASSES, distractors=distractors)


def dirt_mask(frame: CameraFrame, obs: Observation, wiped: NDArray[np.bool_] | None = None) -> NDArray[np.bool_]:
    """Pixels that show the (unwiped) dirt patch: table-height points inside the patch, no object."""
    truth = obs.truth
    if truth is None or not truth.dirt_size_m.any():
        return np.zeros(frame.depth_m.shape, bool)
    from hvla.perception.geometry import backproject

    pts = backproject(frame.depth_m, frame.info.K, frame.info.T_world_cam)  # (H, W, 3), NaN where no return
    local = pts[..., :2] - truth.dirt_center_m[:2]
    half = truth.dirt_size_m / 2
    with np.errstate(invalid="ignore"):
        inside = (np.abs(local) < half).all(-1) & (pts[..., 2] < _DIRT_TOP_M)
    if frame.segmentation is not None:
        inside &= frame.segmentation < 0
    if wiped is not None and wiped.any():
        nx, ny = wiped.shape
        cell = np.nan_to_num((local + half) / truth.dirt_size_m * [nx, ny], nan=0.0).astype(int)
        i, j = np.clip(cell[..., 0], 0, nx - 1), np.clip(cell[..., 1], 0, ny - 1)
        inside &= ~wiped[i, j]
    return inside


class ViewSampler:
    """Random robot poses and object arrangements in one kitchen, restored between views."""

    def __init__(self, world: KitchenWorld, rng: np.random.Generator) -> None:
        from hvla.controllers.ik import IkConfig, IkSolver

        self.world, self.rng = world, rng
        self.model, self.data = world.model, world.data
        self.ik = IkSolver(config=IkConfig(restarts=2, seed=int(rng.integers(1 << 30))))
        self.arm_qpos = np.array([self.model.joint(n).qposadr[0] for n in panda.ARM_JOINTS])
        self._fingers = np.array([self.model.joint(n).qposadr[0] for n in panda.FINGER_JOINTS])
        self._q0, self._v0 = self.data.qpos.copy(), self.data.qvel.copy()
        self._dirt_geoms = np.array([g for g in range(self.model.ngeom) if self.model.geom(g).name.startswith("dirt_")])
        self._dirt_alpha = self.model.geom_rgba[self._dirt_geoms, 3].copy()
        self.wiped: NDArray[np.bool_] | None = None

    def restore(self) -> None:
        import mujoco

        self.data.qpos[:], self.data.qvel[:] = self._q0, self._v0
        self.model.geom_rgba[self._dirt_geoms, 3] = self._dirt_alpha
        self.wiped = None
        mujoco.mj_forward(self.model, self.data)

    def sample(self) -> None:
        """Put the world into a new random state (kinematically: no physics step)."""
        import mujoco

        self.restore()
        names = self.world.layout.names()
        rng = self.rng
        if rng.random() < 0.3:
            self._into_container(names)
        if rng.random() < 0.3:
            self._wipe_state(names)
        mode = rng.choice(["ready", "hover", "hold"], p=[0.2, 0.5, 0.3])
        held = None
        if mode != "ready":
            held = self._hand_over(names, holding=mode == "hold")
        if mode == "ready" or held == "":
            q = panda.Q_READY_RAD + rng.normal(0, 0.08, 7)
            self.data.qpos[self.arm_qpos] = q
        mujoco.mj_forward(self.model, self.data)

    # --- arrangements -----------------------------------------------------------------------
    def set_body(self, name: str, xyz: NDArray, yaw: float) -> None:
        adr = self.model.joint(f"{name}/free").qposadr[0]
        self.data.qpos[adr:adr + 3] = xyz
        self.data.qpos[adr + 3:adr + 7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]

    def _height(self, name: str) -> float:
        spec = self.world.layout.objects[self.world.layout.names().index(name)]
        return float(object_extent_m(CLASSES[spec.label], spec.scale)[2])

    def _into_container(self, names: list[str]) -> None:
        containers = [n for n in names if n in ("bowl", "plate", "cup")]
        fruits = [n for n in names if n in _FRUIT_FOR_CONTAINERS or n.startswith("block")]
        if not containers or not fruits:
            return
        dest = str(self.rng.choice(containers))
        obj = str(self.rng.choice(fruits))
        pos = self.data.body(dest).xpos.copy()
        floor = {"bowl": 0.012, "plate": 0.017, "cup": 0.03}[dest]
        pos[:2] += self.rng.normal(0, 0.01, 2)
        pos[2] = floor + self._height(obj) / 2
        self.set_body(obj, pos, float(self.rng.uniform(-np.pi, np.pi)))

    def _wipe_state(self, names: list[str]) -> None:
        lay = self.world.layout
        nx, ny = 8, 10
        wiped = np.zeros((nx, ny), bool)
        k = int(self.rng.integers(0, nx + 1))
        if self.rng.random() < 0.5:
            wiped[:k] = True
        else:
            wiped[:, : int(k * ny / nx)] = True
        self.wiped = wiped
        self.model.geom_rgba[self._dirt_geoms, 3] = np.where(wiped.ravel(), 0.0, 1.0)
        if "sponge" in names and self.rng.random() < 0.6:
            xy = np.array(lay.dirt_center_m) + self.rng.uniform(-1, 1, 2) * np.array(lay.dirt_size_m) / 2
            self.set_body("sponge", np.array([*xy, self._height("sponge") / 2]), float(self.rng.uniform(-0.5, 0.5)))

    def _hand_over(self, names: list[str], holding: bool) -> str | None:
        """Move the hand top-down over an object (holding one: it sits between the fingers).

        Returns the held object's name, None when nothing is held, "" when IK failed.
        """
        rng = self.rng
        held = None
        if holding:
            held = str(rng.choice([n for n in names if n in _HOLDABLE or n.startswith("block")]))
            if rng.random() < 0.5:  # just grasped or lifted where it lay
                xy = self.data.body(held).xpos[:2] + rng.normal(0, 0.005, 2)
                z = rng.uniform(self._height(held) / 2 + 0.002, 0.25)
            else:  # carried over the table, e.g. above a container
                xy = np.array([rng.uniform(0.35, 0.7), rng.uniform(-0.35, 0.35)])
                z = rng.uniform(0.12, 0.3)
        elif rng.random() < 0.85:
            target = str(rng.choice(names))
            xy = self.data.body(target).xpos[:2] + rng.normal(0, 0.03, 2)
            z = self.data.body(target).xpos[2] + self._height(target) / 2 + rng.uniform(0.04, 0.3)
        else:
            xy = np.array([rng.uniform(0.35, 0.7), rng.uniform(-0.35, 0.35)])
            z = rng.uniform(0.04, 0.3)
        yaw = float(rng.uniform(-np.pi / 2, np.pi / 2))
        T = np.eye(4)
        c, s = np.cos(yaw), np.sin(yaw)
        T[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1.0, -1.0, -1.0])
        T[:3, 3] = [*xy, z]
        try:
            q = self.ik.solve(T, panda.Q_READY_RAD)
        except UnreachableError:
            return ""
        self.data.qpos[self.arm_qpos] = q
        width = 0.08
        if held is not None:
            spec = self.world.layout.objects[names.index(held)]
            ext = object_extent_m(CLASSES[spec.label], spec.scale)
            width = float(min(ext[1], 0.08))
            # The hand's x axis is along world (c, s); the object's long (body x) axis goes along it.
            self.set_body(held, np.array([*xy, z]), yaw)
        self.data.qpos[self._fingers] = width / 2 + 0.001
        return held


def labelled_frames(seed: int, split: str, config: DatasetConfig) -> Iterator[LabelledFrame]:
    """All views of the kitchen of `seed`, both cameras, with instance masks."""
    rng = np.random.default_rng([seed, 7])
    size = int(rng.choice(config.image_sizes))
    sim = SimConfig(image_height=size, image_width=size, segmentation=True)
    with KitchenWorld(seed, scene_config(split, config.distractors), sim) as world:
        sampler = ViewSampler(world, rng)
        for view in range(config.views_per_scene):
            sampler.sample()
            obs = world.observe(CAMERAS)
            assert obs.truth is not None
            for cam in CAMERAS:
                frame = obs.frames[cam]
                instances = tuple(_instances(frame, obs, sampler.wiped, config.min_pixels))
                yield LabelledFrame(seed, view, frame, instances, obs.truth.objects)


def _instances(
    frame: CameraFrame, obs: Observation, wiped: NDArray[np.bool_] | None, min_pixels: int
) -> Iterator[tuple[str, str, NDArray[np.bool_]]]:
    assert obs.truth is not None and frame.segmentation is not None
    for index, obj in enumerate(obs.truth.objects):
        mask = frame.segmentation == index
        if mask.sum() >= min_pixels:
            yield obj.label, obj.name, mask
    dirt = dirt_mask(frame, obs, wiped)
    if dirt.sum() >= min_pixels:
        yield DIRT, DIRT, dirt


def mask_polygon(mask: NDArray[np.bool_]) -> NDArray[np.float64] | None:
    """One polygon (N, 2) in pixels for a mask; several pieces are joined the way ultralytics does."""
    import cv2

    from hvla.perception.detector import guard_torch_import

    guard_torch_import()  # ultralytics imports torch; this process renders
    from ultralytics.data.converter import merge_multi_segment

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pieces = [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) >= 3]
    if not pieces:
        return None
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate(merge_multi_segment([p.ravel().tolist() for p in pieces]), axis=0).astype(np.float64)


def write_dataset(root: Path, config: DatasetConfig | None = None, log: bool = True) -> Path:
    """Render every split into `root` (images/, labels/, meta.jsonl) and write `root/data.yaml`."""
    import cv2

    config = config or DatasetConfig()
    root = Path(root)
    counts: dict[str, int] = {}
    for split, n in config.scenes.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        first = SPLIT_FIRST_SEED[split]
        with open(root / f"meta_{split}.jsonl", "w") as meta:
            for seed in range(first, first + n):
                for lf in labelled_frames(seed, split, config):
                    stem = f"{seed}_{lf.view}_{lf.frame.info.name}"
                    h, w = lf.frame.depth_m.shape
                    lines, objects = [], []
                    for label, name, mask in lf.instances:
                        poly = mask_polygon(mask)
                        if poly is None or label not in CLASS_NAMES:
                            continue  # the novel mango is in the picture but not labelled
                        xy = (poly / [w, h]).clip(0, 1).ravel()
                        lines.append(f"{CLASS_NAMES.index(label)} " + " ".join(f"{v:.5f}" for v in xy))
                        objects.append(name)
                    cv2.imwrite(str(root / "images" / split / f"{stem}.png"), lf.frame.rgb[..., ::-1])
                    (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
                    meta.write(json.dumps({"image": stem, "seed": seed, "size": w, "objects": objects}) + "\n")
                    counts[split] = counts.get(split, 0) + 1
                if log and (seed - first) % 50 == 0:
                    print(f"[dataset] {split}: seed {seed} ({seed - first + 1}/{n}), {counts.get(split, 0)} images",
                          flush=True)
    yaml = write_yaml(root, tuple(s for s in SPLIT_FIRST_SEED if (root / "images" / s).is_dir()))
    if log:
        print(f"[dataset] wrote {yaml}: {counts}")
    return yaml


def write_yaml(root: Path, splits: tuple[str, ...]) -> Path:
    lines = [f"path: {Path(root).resolve()}"]
    lines += [f"{s}: images/{s}" for s in splits]
    lines += ["names:"] + [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    path = Path(root) / "data.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def small_config(n: int = 2) -> DatasetConfig:
    """A tiny dataset for tests (seconds, not minutes)."""
    return replace(DatasetConfig(), scenes={"train": n, "val": 1}, views_per_scene=1)
