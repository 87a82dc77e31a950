"""The kitchen's object catalogue: shapes, sizes, masses and colour palettes per class.

Objects are built from primitives (capsules, ellipsoids, boxes): contacts are robust and the
software rasteriser draws them in a few hundred triangles. Colours vary within a class by seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name -> rgb in [0, 1]; the colour name the planner grounds against is the palette key.
PALETTES: dict[str, dict[str, tuple[float, float, float]]] = {
    "banana": {"yellow": (0.95, 0.85, 0.2), "light yellow": (0.98, 0.92, 0.45)},
    "apple": {"red": (0.8, 0.1, 0.1), "dark red": (0.6, 0.05, 0.1), "green": (0.45, 0.8, 0.2)},
    "lemon": {"yellow": (0.98, 0.95, 0.1), "light yellow": (0.95, 0.95, 0.5)},
    "mango": {"orange": (0.98, 0.6, 0.1), "orange-yellow": (0.98, 0.75, 0.2)},
    "cup": {"white": (0.92, 0.92, 0.92), "blue": (0.2, 0.35, 0.85), "red": (0.85, 0.2, 0.2)},
    "bowl": {"white": (0.95, 0.95, 0.95), "blue": (0.25, 0.45, 0.9), "green": (0.2, 0.65, 0.35)},
    "plate": {"white": (0.97, 0.97, 0.97), "grey": (0.65, 0.65, 0.7)},
    "sponge": {"yellow": (0.95, 0.8, 0.15), "green": (0.3, 0.75, 0.3), "blue": (0.25, 0.55, 0.95)},
    "block": {"purple": (0.55, 0.25, 0.7), "cyan": (0.1, 0.75, 0.8), "brown": (0.5, 0.33, 0.2)},
}

GRASPABLE = ("banana", "apple", "lemon", "mango", "sponge", "block")
CONTAINERS = ("bowl", "cup")
SURFACES = ("plate",)


@dataclass(frozen=True)
class ObjectClass:
    """Geometry of one class. `size` is per primitive type (MuJoCo conventions, half-sizes)."""

    label: str
    category: str  # fruit, container, surface, tool, distractor
    shape: str  # capsule, ellipsoid, sphere, box, bowl, cup, plate
    size: tuple[float, ...]
    mass_kg: float
    footprint_radius_m: float  # for placement without overlap
    scale_range: tuple[float, float] = (0.95, 1.05)


CLASSES: dict[str, ObjectClass] = {
    # A banana lies flat; its long axis is the body x axis.
    "banana": ObjectClass("banana", "fruit", "capsule", (0.018, 0.06), 0.12, 0.08),
    "apple": ObjectClass("apple", "fruit", "sphere", (0.032,), 0.15, 0.05),
    "lemon": ObjectClass("lemon", "fruit", "ellipsoid", (0.04, 0.027, 0.027), 0.1, 0.05),
    "mango": ObjectClass("mango", "fruit", "ellipsoid", (0.05, 0.033, 0.03), 0.2, 0.06),
    "sponge": ObjectClass("sponge", "tool", "box", (0.045, 0.03, 0.018), 0.03, 0.06),
    "block": ObjectClass("block", "distractor", "box", (0.022, 0.022, 0.022), 0.05, 0.04, (0.8, 1.2)),
    # Containers: radius, wall height; built from a floor and a ring of wall segments.
    "bowl": ObjectClass("bowl", "container", "bowl", (0.1, 0.05), 0.4, 0.105, (0.97, 1.03)),
    "cup": ObjectClass("cup", "container", "cup", (0.045, 0.09), 0.2, 0.06, (0.97, 1.03)),
    "plate": ObjectClass("plate", "surface", "plate", (0.1, 0.008), 0.3, 0.1, (0.97, 1.03)),
}


def object_extent_m(cls: ObjectClass, scale: float) -> np.ndarray:
    """Full size (x, y, z) of the object's box in its own frame."""
    s = np.array(cls.size) * scale
    if cls.shape == "capsule":
        return np.array([2 * (s[1] + s[0]), 2 * s[0], 2 * s[0]])
    if cls.shape == "sphere":
        return np.full(3, 2 * s[0])
    if cls.shape in ("ellipsoid", "box"):
        return 2 * s[:3]
    if cls.shape in ("bowl", "cup"):
        return np.array([2 * s[0], 2 * s[0], s[1]])
    if cls.shape == "plate":
        return np.array([2 * s[0], 2 * s[0], 2 * s[1]])
    raise ValueError(f"unknown shape {cls.shape}")
