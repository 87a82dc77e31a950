"""Colour names in the catalogue's words, the novel-colour check, and the registry entry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from hvla.perception.base import PERCEPTION
from hvla.perception.color import ColorNamer, robust_rgb
from hvla.sim.objects import PALETTES


def test_every_palette_colour_names_itself_within_its_class():
    namer = ColorNamer()
    for label, palette in PALETTES.items():
        for name, rgb in palette.items():
            assert namer.name(np.array(rgb) * 0.8, label) == name, (label, name)  # dimmer: lit less


def test_an_orange_mango_mistaken_for_a_lemon_is_off_palette():
    namer = ColorNamer()
    for rgb in PALETTES["mango"].values():
        assert namer.off_palette(np.array(rgb) * 0.9, "lemon")
        assert namer.name(np.array(rgb) * 0.9) in ("orange", "orange-yellow")
    for rgb in PALETTES["lemon"].values():
        assert not namer.off_palette(np.array(rgb) * 0.9, "lemon")


def test_robust_rgb_ignores_the_shadowed_half():
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:5] = (200, 180, 40)
    rgb[5:] = (60, 54, 12)
    assert np.allclose(robust_rgb(rgb, np.ones((10, 10), bool)), np.array([200, 180, 40]) / 255)


def test_yolo_is_registered_and_importing_perception_stays_light():
    assert "yolo" in PERCEPTION.names() and "oracle" in PERCEPTION.names()
    code = ("import sys, hvla.perception; "
            "print([m for m in ('torch', 'ultralytics', 'onnxruntime', 'cv2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
