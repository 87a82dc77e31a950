"""Seeded randomisation of the kitchen: which objects, where, what colour, lighting, camera jitter.

A `KitchenLayout` is a pure description sampled from a seed; `world.py` turns it into a MuJoCo model.
The same seed and config give the same layout, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hvla.core.errors import ConfigError
from hvla.sim.objects import CLASSES, PALETTES

# Reachable, camera-visible part of the table (robot base at the origin, facing +x).
PLACE_X_M = (0.34, 0.72)
PLACE_Y_M = (-0.42, 0.42)
REACH_M = (0.4, 0.7)  # horizontal distance from the base where top-down grasps are comfortable
DIRT_SIZE_M = (0.16, 0.20)  # x, y extent of the dirt patch
SINK_CENTER_M = (0.32, 0.58)  # the sink sits to the robot's left, off the placement area
SINK_SIZE_M = (0.26, 0.22)


@dataclass(frozen=True)
class SceneConfig:
    """What may appear. Required objects always do; each optional one with `optional_p`."""

    required: tuple[str, ...] = ("banana", "apple", "lemon", "bowl", "plate", "sponge")
    optional: tuple[str, ...] = ("cup", "mango")
    optional_p: float = 0.35
    exclude: tuple[str, ...] = ()  # e.g. ("mango",) for every training distribution
    distractors: tuple[int, int] = (0, 2)  # inclusive range of distractor blocks
    light_jitter: bool = True
    camera_jitter_m: float = 0.02
    camera_jitter_rad: float = 0.03

    def __post_init__(self) -> None:
        unknown = [n for n in (*self.required, *self.optional) if n not in CLASSES]
        if unknown:
            raise ConfigError(f"unknown object classes {unknown}; known: {sorted(CLASSES)}")
        clash = set(self.required) & set(self.exclude)
        if clash:
            raise ConfigError(f"objects {sorted(clash)} are both required and excluded")
        if not 0 <= self.distractors[0] <= self.distractors[1]:
            raise ConfigError(f"distractors range {self.distractors} is invalid")


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    xy_m: tuple[float, float]
    yaw_rad: float
    scale: float
    color_name: str
    rgb: tuple[float, float, float]


@dataclass(frozen=True)
class KitchenLayout:
    seed: int
    objects: tuple[ObjectSpec, ...]
    dirt_center_m: tuple[float, float]
    dirt_size_m: tuple[float, float] = DIRT_SIZE_M
    light_dir: tuple[float, float, float] = (0.0, 0.0, -1.0)
    light_diffuse: float = 0.5
    camera_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera_tilt_rad: tuple[float, float] = (0.0, 0.0)
    table_rgb: tuple[float, float, float] = (0.82, 0.75, 0.62)
    config: SceneConfig = field(default_factory=SceneConfig)

    def names(self) -> list[str]:
        return [o.name for o in self.objects]


MAX_SEED = 2**31 - 1  # kitchen seeds are non-negative 32-bit integers (numpy's seeding refuses negatives)


def sample_layout(seed: int, config: SceneConfig | None = None) -> KitchenLayout:
    """Draw a kitchen layout from `seed`; a crowded draw is redrawn from a derived stream."""
    config = config or SceneConfig()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed!r} must be an integer in [0, {MAX_SEED}]: pick another kitchen seed")
    for attempt in range(50):
        try:
            return _draw(seed, config, np.random.default_rng([seed, attempt]))
        except _CrowdedError:
            continue
    raise ConfigError(f"seed {seed}: could not place the objects without overlap; the table is too full")


class _CrowdedError(Exception):
    pass


def _draw(seed: int, config: SceneConfig, rng: np.random.Generator) -> KitchenLayout:
    labels = [n for n in config.required if n not in config.exclude]
    labels += [n for n in config.optional if n not in config.exclude and rng.random() < config.optional_p]
    n_blocks = int(rng.integers(config.distractors[0], config.distractors[1] + 1))
    dirt = (float(rng.uniform(0.42, 0.58)), float(rng.choice([-1, 1]) * rng.uniform(0.12, 0.24)))
    taken: list[tuple[float, float, float]] = [(dirt[0], dirt[1], 0.125)]
    objects = []
    # Large objects first: they are the hardest to fit.
    order = sorted(labels, key=lambda n: -CLASSES[n].footprint_radius_m)
    for label in order + ["block"] * n_blocks:
        name = label if label != "block" else f"block_{sum(o.label == 'block' for o in objects)}"
        objects.append(_place(rng, name, label, taken))
    return KitchenLayout(
        seed=seed,
        objects=tuple(sorted(objects, key=lambda o: o.name)),
        dirt_center_m=dirt,
        light_dir=_light_dir(rng) if config.light_jitter else (0.0, 0.0, -1.0),
        light_diffuse=float(rng.uniform(0.35, 0.65)) if config.light_jitter else 0.5,
        camera_offset_m=tuple(rng.uniform(-1, 1, 3) * config.camera_jitter_m),
        camera_tilt_rad=tuple(rng.uniform(-1, 1, 2) * config.camera_jitter_rad),
        table_rgb=tuple(np.clip(np.array([0.82, 0.75, 0.62]) + rng.uniform(-0.06, 0.06, 3), 0, 1)),
        config=config,
    )


def _place(
    rng: np.random.Generator, name: str, label: str, taken: list[tuple[float, float, float]]
) -> ObjectSpec:
    cls = CLASSES[label]
    scale = float(rng.uniform(*cls.scale_range))
    radius = cls.footprint_radius_m * scale
    for _ in range(200):
        x = float(rng.uniform(PLACE_X_M[0] + radius * 0.5, PLACE_X_M[1] - radius * 0.5))
        y = float(rng.uniform(PLACE_Y_M[0] + radius * 0.5, PLACE_Y_M[1] - radius * 0.5))
        if not REACH_M[0] <= np.hypot(x, y) <= REACH_M[1]:
            continue
        if all(np.hypot(x - tx, y - ty) > radius + tr + 0.01 for tx, ty, tr in taken):
            break
    else:
        raise _CrowdedError(name)
    taken.append((x, y, radius))
    color_name = str(rng.choice(sorted(PALETTES[label])))
    rgb = np.clip(np.array(PALETTES[label][color_name]) + rng.uniform(-0.03, 0.03, 3), 0, 1)
    yaw = float(rng.uniform(-np.pi / 2, np.pi / 2))
    return ObjectSpec(name, label, (x, y), yaw, scale, color_name, tuple(float(c) for c in rgb))


def _light_dir(rng: np.random.Generator) -> tuple[float, float, float]:
    v = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), -1.0])
    return tuple(float(c) for c in v / np.linalg.norm(v))
