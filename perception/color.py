"""Colour names from masked pixels, in the catalogue's own words (sim/objects.py PALETTES).

Rendered colour = material colour x lighting, so brightness says little: names are matched on hue and
saturation first, brightness last. For a known class the name is one of that class's palette names
(a banana is "yellow" or "light yellow"); for an unknown object every palette name competes, so the
mango comes out "orange" or "orange-yellow".

`off_palette` tells whether a detection's colour is far from every colour its class comes in: the
sign of a novel object the detector has mistaken for a known one.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.sim.objects import PALETTES

Rgb = tuple[float, float, float]


def hsv(rgb: NDArray | Rgb) -> tuple[float, float, float]:
    """(h, s, v) in [0, 1] of an rgb triple in [0, 1] (clipped)."""
    r, g, b = (min(max(float(c), 0.0), 1.0) for c in rgb)
    return colorsys.rgb_to_hsv(r, g, b)


_PALETTE_HSV = {label: {name: hsv(rgb) for name, rgb in p.items()} for label, p in PALETTES.items()}
_ALL_HSV = [e for p in _PALETTE_HSV.values() for e in p.items()]


def _hue_deg_diff(a: float, b: float) -> float:
    d = abs(a - b) * 360.0 % 360.0
    return min(d, 360.0 - d)


def robust_rgb(rgb: NDArray[np.uint8], mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Median colour in [0, 1] of the mask's brighter half: shadowed sides and edges carry the least
    hue, specular highlights are few enough for the median to ignore."""
    px = rgb[mask]
    if len(px) == 0:
        return np.zeros(3)
    if len(px) > 800:  # evenly subsampled: a median needs no more
        px = px[:: int(np.ceil(len(px) / 800))]
    px = px.astype(np.float64) / 255.0
    v = px.max(axis=1)
    lit = px[v >= np.median(v)]
    return np.median(lit, axis=0)


@dataclass(frozen=True)
class ColorNamer:
    """Nearest palette entry under a hue-first distance."""

    hue_scale_deg: float = 20.0
    sat_scale: float = 0.25
    val_scale: float = 0.8

    def distance(self, observed: NDArray | Rgb, reference: Rgb) -> float:
        return self._distance_hsv(hsv(observed), hsv(reference))

    def _distance_hsv(self, a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
        (h1, s1, v1), (h2, s2, v2) = a, b
        chroma = min(s1, s2)  # hue is meaningless for greys
        dh = _hue_deg_diff(h1, h2) / self.hue_scale_deg * chroma
        return (dh**2 + ((s1 - s2) / self.sat_scale) ** 2 + ((v1 - v2) / self.val_scale) ** 2) ** 0.5

    def name(self, observed: NDArray | Rgb, label: str | None = None) -> str:
        """The palette name closest to `observed`: among `label`'s colours when the class is known."""
        palette = _PALETTE_HSV.get(label or "")
        entries = list(palette.items()) if palette else _ALL_HSV
        obs = hsv(observed)
        return min(entries, key=lambda e: self._distance_hsv(obs, e[1]))[0]

    def off_palette(self, observed: NDArray | Rgb, label: str, max_hue_deg: float = 8.0) -> bool:
        """True when a saturated colour's hue is farther than `max_hue_deg` from all of `label`'s colours."""
        palette = PALETTES.get(label)
        h, s, _ = hsv(observed)
        if not palette or s < 0.35:
            return False
        saturated = [rgb for rgb in palette.values() if hsv(rgb)[1] >= 0.35]
        if not saturated:
            return True  # a strongly coloured "white plate" is not a plate
        return min(_hue_deg_diff(h, hsv(rgb)[0]) for rgb in saturated) > max_hue_deg
