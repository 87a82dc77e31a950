"""Dragging a grasped thing out from under an overhang before the lift, on hand-made tokens (no simulator)."""

from __future__ import annotations

import numpy as np

from hvla.core.messages import ObjectToken, Observation, Proprio, Scene
from hvla.skills.scripted.clearance import HAND_HALF_SPAN_M, MAX_SLIDE_M, OVERHANG_MARGIN_M, overhangs, slide_out


def tok(name, xyz, extent, category="object"):
    return ObjectToken(track_id=0, label=name, score=1.0, position_m=np.array(xyz, float),
                       extent_m=np.array(extent, float), color_name="unknown", color_rgb=np.zeros(3),
                       category=category, name=name)


def scene(*tokens):
    return Scene(tuple(tokens), Observation(0.0, Proprio(np.zeros(7), np.zeros(7), 0.08, np.eye(4))))


BOWL = tok("bowl", [0.58, 0.014, 0.013], [0.107, 0.107, 0.051])
# An open top drawer whose front corner reaches over the bowl's far side, its floor 10 cm above the rim.
DRAWER = tok("drawer", [0.684, -0.071, 0.176], [0.219, 0.204, 0.069], "container")


def test_nothing_overhead_means_no_slide():
    table_thing = tok("plate", [0.5, 0.2, 0.01], [0.2, 0.2, 0.02])
    assert np.allclose(slide_out(scene(BOWL, table_thing), BOWL, np.array([0.535, 0.014]), np.pi / 2), 0.0)


def test_only_things_with_their_underside_above_the_held_top_overhang():
    cabinet = tok("cabinet", [0.68, -0.25, 0.105], [0.25, 0.19, 0.218], "surface")  # stands on the table
    assert [t.name for t in overhangs(scene(BOWL, cabinet, DRAWER), BOWL)] == ["drawer"]


def test_a_bowl_under_an_open_drawer_is_dragged_just_clear_of_it():
    hand_xy, yaw = np.array([0.535, 0.014]), np.pi / 2  # held on the rim facing the base, fingers along x
    shift = slide_out(scene(BOWL, DRAWER), BOWL, hand_xy, yaw)
    assert 0.0 < np.linalg.norm(shift) <= MAX_SLIDE_M
    lo = DRAWER.position_m[:2] - 0.5 * DRAWER.extent_m[:2] - OVERHANG_MARGIN_M
    hi = DRAWER.position_m[:2] + 0.5 * DRAWER.extent_m[:2] + OVERHANG_MARGIN_M
    hand_half = np.abs(np.array([[0.0, -1.0], [1.0, 0.0]])) @ HAND_HALF_SPAN_M
    for c, h in ((hand_xy + shift, hand_half), (BOWL.position_m[:2] + shift, 0.5 * BOWL.extent_m[:2])):
        assert np.any(c + h <= lo + 1e-9) or np.any(c - h >= hi - 1e-9)  # apart along some axis
    # out along the wall the pads hold (the hand's x, world y here), about as far as the bowl's exit that way
    assert abs(shift[1]) > abs(shift[0])
    assert np.linalg.norm(shift) <= hi[1] - (BOWL.position_m[1] - 0.5 * BOWL.extent_m[1]) + 0.005 + 1e-9


def test_no_way_out_within_reach_keeps_the_hand_where_it_is():
    roof = tok("roof", [0.58, 0.014, 0.3], [1.0, 1.0, 0.02], "surface")
    assert np.allclose(slide_out(scene(BOWL, roof), BOWL, np.array([0.535, 0.014]), 0.0), 0.0)


def turned_drawer():
    """A drawer on a cabinet turned by 27 degrees: its world-aligned box is larger than its 20.4 x 21.9 cm."""
    from hvla.core.messages import Articulation

    axis = np.array([-0.4376, -0.8992, 0.0])
    art = Articulation("slide", axis, np.zeros(3), -0.156, (-0.16, -0.14), (0.0, 0.005),
                       np.array([0.755, -0.131, 0.176]), np.array([0.2857, 0.2788, 0.0685]), limits=(-0.16, 0.01))
    t = tok("drawer", [0.755, -0.131, 0.176], [0.2857, 0.2788, 0.0685], "container")
    return ObjectToken(**{**{f: getattr(t, f) for f in t.__dataclass_fields__}, "articulation": art})


def test_a_turned_drawers_own_size_is_recovered_from_its_world_box():
    from hvla.skills.scripted.clearance import drawer_frame

    out, across, size = drawer_frame(turned_drawer())
    assert np.allclose(out, [0.4376, 0.8992], atol=1e-3) and abs(float(out @ across)) < 1e-9
    assert np.allclose(size, [0.204, 0.219], atol=0.003)


def test_a_bowl_beside_a_drawers_wall_is_held_on_a_side_whose_outer_finger_stays_inside():
    from hvla.skills.scripted.clearance import drawer_holding, rim_side

    drawer = turned_drawer()
    bowl = tok("bowl", [0.7455, -0.1302, 0.1774], [0.107, 0.107, 0.0505])
    s = scene(bowl, drawer)
    assert drawer_holding(s, bowl) is drawer
    toward_base = -bowl.position_m[:2] / np.linalg.norm(bowl.position_m[:2])
    d = rim_side(s, bowl, toward_base, 0.0855, 0.044)
    assert 0.0 < np.degrees(np.arccos(np.clip(d @ toward_base, -1, 1))) <= 30.0  # turned, but no more than needed
    on_table = tok("bowl2", [0.5, 0.2, 0.013], [0.107, 0.107, 0.051])
    assert np.allclose(rim_side(scene(on_table, drawer), on_table, toward_base, 0.0855, 0.044), toward_base)
