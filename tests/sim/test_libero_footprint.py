"""The LIBERO world's own-frame footprint of a turned object (pure geometry, no LIBERO needed)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from hvla.sim.libero.world import footprint


def test_a_book_turned_about_z_keeps_its_length_and_thickness():
    size = np.array([0.11, 0.029, 0.134])
    R = Rotation.from_euler("z", -40, degrees=True).as_matrix()
    assert np.allclose(footprint(R, size, np.radians(-40)), [0.11, 0.029])
    world_box = np.abs(R) @ size  # what the world-aligned box says: 10 x 9 cm
    assert min(world_box[:2]) > 0.09


def test_a_book_lying_on_its_side_shows_its_cover():
    size = np.array([0.11, 0.029, 0.134])  # thickness along its y, height along its z
    R = Rotation.from_euler("x", 90, degrees=True).as_matrix()  # its height now lies along world -y
    assert np.allclose(footprint(R, size, np.pi / 2), [0.134, 0.11])
