"""Is this detection really what the detector says? A per-class model of colour and size, fitted on training views.

A closed-set detector calls an object it never saw by the nearest known class: the mango comes out as
a lemon, a sponge or a banana. Each (class, camera) keeps what training views of that class looked like:
its chroma (saturation x hue, one mode per palette colour), the height, the footprint diagonal and
the flatness (share of points on the top) of its visible points. A view's novelty score combines the
z-scores (nearest colour mode, robust spreads) as sqrt(zc^2 + sum of size z^2). Views cut off or
occluded do not vote: their size is unreliable. How the score is used is in yolo.py (YoloConfig).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.perception.color import hsv
from hvla.perception.geometry import ViewEstimate

_CHROMA_FLOOR = 0.03  # std floors: a tight class must not flag every small lighting change
_SIZE_FLOOR_M = 0.004


def chroma(rgb: NDArray) -> NDArray[np.float64]:
    """(s cos h, s sin h): hue as an angle, weighted by how much hue there is (greys sit near 0)."""
    h, s, _ = hsv(rgb)
    return np.array([s * np.cos(2 * np.pi * h), s * np.sin(2 * np.pi * h)])


def size_features(est: ViewEstimate) -> NDArray[np.float64]:
    """(height [m], footprint diagonal [m], flatness) of a view's visible points; flatness is the share of
    points on the top 4 mm, scaled by 0.1 so that its floor matches the sizes' (a box's top vs a fruit's cap)."""
    return np.array([float(est.extent_m[2]), float(np.hypot(est.extent_m[0], est.extent_m[1])),
                     0.1 * est.top_fraction])


@dataclass(frozen=True)
class ClassAppearance:
    chroma_modes: tuple[tuple[float, float, float, float], ...]  # (mean x, mean y, std x, std y) per colour
    size_mean: tuple[float, ...]
    size_std: tuple[float, ...]
    threshold: float

    def chroma_z(self, c: NDArray) -> float:
        """Distance to the nearest colour mode, in standard deviations."""
        return min(float(np.hypot((c[0] - mx) / sx, (c[1] - my) / sy)) for mx, my, sx, sy in self.chroma_modes)

    def size_z(self, s: NDArray) -> float:
        return float(np.linalg.norm((s - np.array(self.size_mean)) / np.array(self.size_std)))

    def combined(self, c: NDArray, s: NDArray) -> float:
        return float(np.hypot(self.chroma_z(c), self.size_z(s)))

    def score(self, rgb: NDArray, est: ViewEstimate) -> float:
        return self.combined(chroma(rgb), size_features(est))


class NoveltyModel:
    """`ClassAppearance` by "label/camera"."""

    def __init__(self, classes: dict[str, ClassAppearance] | None = None) -> None:
        self.classes = classes or {}

    def score(self, label: str, camera: str, rgb: NDArray, est: ViewEstimate) -> float | None:
        model = self.classes.get(f"{label}/{camera}")
        return None if model is None else model.score(rgb, est)

    def to_json(self) -> dict:
        return {k: asdict(v) for k, v in sorted(self.classes.items())}

    @classmethod
    def from_json(cls, data: dict) -> NoveltyModel:
        out = {}
        for k, v in data.items():
            out[k] = ClassAppearance(tuple(tuple(m) for m in v["chroma_modes"]), tuple(v["size_mean"]),
                                     tuple(v["size_std"]), float(v["threshold"]))
        return cls(out)


def fit_novelty(rows: Iterable[tuple[str, str, str, NDArray, ViewEstimate]], min_views: int = 20,
                min_threshold: float = 4.0) -> NoveltyModel:
    """From (label, camera, true colour name, observed rgb, view estimate) of full training views."""
    groups: dict[str, list[tuple[str, NDArray, NDArray]]] = {}
    for label, camera, color_name, rgb, est in rows:
        groups.setdefault(f"{label}/{camera}", []).append((color_name, chroma(rgb), size_features(est)))
    classes = {}
    for key, items in groups.items():
        if len(items) < min_views:
            continue
        modes = []
        for name in sorted({n for n, _, _ in items}):
            cs = np.array([c for n, c, _ in items if n == name])
            if len(cs) < 3:
                continue
            mean = np.median(cs, axis=0)
            std = np.maximum(1.4826 * np.median(np.abs(cs - mean), axis=0), _CHROMA_FLOOR)
            modes.append((float(mean[0]), float(mean[1]), float(std[0]), float(std[1])))
        sizes = np.array([s for _, _, s in items])
        smean = np.median(sizes, axis=0)
        sstd = np.maximum(1.4826 * np.median(np.abs(sizes - smean), axis=0), _SIZE_FLOOR_M)
        if not modes:
            continue
        model = ClassAppearance(tuple(modes), tuple(float(v) for v in smean), tuple(float(v) for v in sstd), np.inf)
        own = [model.combined(c, s) for _, c, s in items]
        threshold = max(min_threshold, float(np.percentile(own, 99.5)))
        classes[key] = ClassAppearance(model.chroma_modes, model.size_mean, model.size_std, threshold)
    return NoveltyModel(classes)
