"""The geometry behind the part skills and the place spots, on hand-made tokens (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.messages import Articulation, ObjectToken, Observation, Proprio, Scene
from hvla.skills.scripted.experts import free_spot, hand_hits
from hvla.skills.scripted.joints import exposed_centre, face_along, outward, target_q
from hvla.skills.scripted.motion import down_matrix, tilted
from hvla.skills.scripted.push_route import reach as _reach


def tok(name, xyz, extent, category="object", articulation=None):
    return ObjectToken(track_id=0, label=name, score=1.0, position_m=np.array(xyz, float),
                       extent_m=np.array(extent, float), color_name="unknown", color_rgb=np.zeros(3),
                       category=category, name=name, articulation=articulation)


def drawer(q):
    """A drawer 20 cm deep sliding out along +y (its axis points -y, "open" is q below -0.14), out by -q."""
    centre = np.array([0.66, 0.14 + q * -1.0 - 0.146, 0.04])
    art = Articulation("slide", np.array([0.0, -1.0, 0.0]), np.zeros(3), q, (-0.16, -0.14), (0.0, 0.005),
                       centre, np.array([0.22, 0.204, 0.07]), limits=(-0.16, 0.01))
    return tok("drawer", centre, [0.22, 0.204, 0.07], "container", art)


def scene(*tokens):
    proprio = Proprio(np.zeros(7), np.zeros(7), 0.08, np.eye(4))
    return Scene(tuple(tokens), Observation(0.0, proprio))


def test_a_drawer_comes_out_along_its_opening_direction_and_its_face_moves_with_q():
    d = drawer(-0.146)
    a = d.articulation
    assert np.allclose(outward(a), [0.0, 1.0, 0.0])
    assert face_along(d, a, a.q - 0.01) == pytest.approx(face_along(d, a, a.q) + 0.01)


def test_drive_targets_go_past_the_ranges_limits_lean_inward():
    a = drawer(0.0).articulation
    assert target_q(a, opened=True) == -0.16  # the open range's far end
    assert 0.005 < target_q(a, opened=False) <= 0.01  # LIBERO: closed only strictly past its rest value


def test_things_go_into_the_part_of_an_open_drawer_that_is_out_of_the_cabinet():
    d = drawer(-0.146)
    spot = exposed_centre(d)
    front = face_along(d, d.articulation, d.articulation.q)
    assert front - 0.146 < spot[1] < front  # between the cabinet's front and the drawer's
    assert spot[1] > d.position_m[1]  # nearer the front than the drawer's own middle


def test_a_second_thing_goes_beside_the_first_not_on_it():
    stove = tok("stove", [0.6, -0.2, 0.0], [0.30, 0.15, 0.02], "surface")
    pot1 = tok("pot1", [0.6, -0.2, 0.085], [0.08, 0.15, 0.15])  # standing on the stove's top
    pot2 = tok("pot2", [0.7, 0.0, 0.085], [0.08, 0.15, 0.15])
    spot = free_spot(stove, pot2, scene(stove, pot1, pot2), stove.position_m[:2])
    assert abs(spot[0] - 0.6) >= 0.08 + 0.01 - 1e-9 and spot[1] == pytest.approx(-0.2)
    alone = free_spot(stove, pot2, scene(stove, pot2), stove.position_m[:2])
    assert np.allclose(alone, stove.position_m[:2])


def test_a_cup_beside_a_bowl_does_not_push_the_banana_off_the_bowls_middle():
    bowl = tok("bowl", [0.44, 0.20, 0.025], [0.20, 0.185, 0.05], "container")
    cup = tok("cup", [0.435, 0.154, 0.028], [0.186, 0.087, 0.056], "container")  # on the table, overlapping the box
    banana = tok("banana", [0.66, 0.20, 0.02], [0.08, 0.11, 0.04])
    assert np.allclose(free_spot(bowl, banana, scene(bowl, cup, banana), bowl.position_m[:2]), bowl.position_m[:2])


def test_a_leaned_hand_keeps_its_fingers_level_and_its_wrist_outward():
    R = tilted(down_matrix(0.3), np.array([-1.0, -1.0]), 0.5)
    assert abs(R[2, 1]) < 1e-9  # the finger axis stays horizontal
    assert R[:2, 2] @ np.array([-1.0, -1.0]) > 0  # the approach axis tips toward the base
    assert np.isclose(np.arccos(-R[2, 2]), 0.5)


def test_a_round_plate_is_pushed_from_its_rim_not_its_box_corner():
    plate = tok("plate", [0.7, 0.0, 0.0], [0.14, 0.14, 0.02])
    diagonal = np.array([1.0, 1.0]) / np.sqrt(2)
    assert _reach(plate, diagonal) == pytest.approx(0.07)
    assert _reach(plate, np.array([1.0, 0.0])) == pytest.approx(0.07)


def test_in_a_basket_the_second_thing_stays_inside_its_walls():
    basket = tok("basket", [0.5, 0.27, 0.04], [0.16, 0.22, 0.08], "container")
    soup = tok("soup", [0.5, 0.27, 0.065], [0.07, 0.07, 0.1])  # in the basket, on its 1.5 cm floor
    sauce = tok("sauce", [0.39, 0.05, 0.05], [0.06, 0.06, 0.1])
    spot = free_spot(basket, sauce, scene(basket, soup, sauce), basket.position_m[:2])
    assert abs(spot[1] - 0.27) >= 0.035 + 0.03  # beside the soup
    assert abs(spot[1] - 0.27) + 0.03 <= 0.11 - 0.01 + 1e-9  # and a centimetre inside the wall


def test_a_place_beside_a_plate_keeps_the_fingers_off_the_mug_on_it():
    region = tok("right_region", [0.66, 0.10, -0.01], [0.10, 0.10, 0.002], "surface")
    mug = tok("mug", [0.68, 0.016, 0.10], [0.10, 0.13, 0.11])  # on the plate, reaching to y = 0.081
    pudding = tok("pudding", [0.48, 0.10, 0.03], [0.08, 0.046, 0.027])
    spot = free_spot(region, pudding, scene(region, mug, pudding), region.position_m[:2])
    assert spot[1] - 0.023 >= 0.081 + 0.02 - 1e-9  # the pudding's near side a finger's room from the mug
    assert abs(spot[1] - 0.10) <= 0.03 + 1e-9  # and its centre well inside the region


def test_the_hands_body_along_its_fingers_hits_a_tall_neighbour_a_quarter_turn_clears_it():
    mug = tok("mug", [0.68, 0.016, 0.08], [0.10, 0.13, 0.11])  # its top at 0.135, its side at y = 0.081
    where = np.array([0.66, 0.13])
    s = scene(mug)
    assert hand_hits(s, where, 0.0, palm_z=0.07, skip=())  # fingers along y: the body reaches y = 0.025
    assert not hand_hits(s, where, np.pi / 2, palm_z=0.07, skip=())  # fingers along x: 3.5 cm to each side
    assert not hand_hits(s, where, 0.0, palm_z=0.14, skip=())  # a palm above the mug's top
    assert not hand_hits(s, where, 0.0, palm_z=0.07, skip=("mug",))


def test_things_go_down_inside_a_drawers_front_wall_and_in_front_of_the_handles_above():
    from hvla.skills.scripted.joints import FRONT_PANEL_M, room

    d = drawer(-0.146)
    a = d.articulation
    front, closed_front = face_along(d, a, a.q), face_along(d, a, 0.0025)
    assert room(d) == pytest.approx(front - FRONT_PANEL_M - closed_front)
    spot = exposed_centre(d)
    assert spot[1] == pytest.approx(0.5 * (front - FRONT_PANEL_M + closed_front))


def twin(name, xyz, extent):
    return ObjectToken(track_id=0, label="moka pot", score=1.0, position_m=np.array(xyz, float),
                       extent_m=np.array(extent, float), color_name="unknown", color_rgb=np.zeros(3), name=name)


def test_the_first_of_two_twins_leaves_room_for_the_second_on_a_small_surface():
    # LIBERO's cook region: 15 cm square; two pots 8 cm wide along x fit side by side, not with one in the middle.
    stove = tok("stove", [0.6, -0.2, 0.0], [0.15, 0.15, 0.02], "surface")
    pot1 = twin("pot1", [0.6, 0.24, 0.065], [0.081, 0.148, 0.152])
    pot2 = twin("pot2", [0.7, 0.02, 0.065], [0.081, 0.148, 0.152])
    first = free_spot(stove, pot1, scene(stove, pot1, pot2), stove.position_m[:2])
    assert abs(first[0] - 0.6) == pytest.approx(0.5 * (0.081 + 0.02)) and first[1] == pytest.approx(-0.2)
    assert abs(first[0] - 0.6) <= 0.075 - 0.02 + 1e-9  # its centre well inside the region
    placed = twin("pot1", [*first, 0.085], [0.081, 0.148, 0.152])
    second = free_spot(stove, pot2, scene(stove, placed, pot2), stove.position_m[:2])
    assert abs(second[0] - first[0]) >= 0.081 + 0.02 - 1e-9  # beside the first, the fingers' room between


def test_without_a_twin_or_room_for_two_the_thing_goes_in_the_middle():
    stove = tok("stove", [0.6, -0.2, 0.0], [0.15, 0.15, 0.02], "surface")
    pot = twin("pot1", [0.6, 0.24, 0.065], [0.081, 0.148, 0.152])
    assert np.allclose(free_spot(stove, pot, scene(stove, pot), stove.position_m[:2]), stove.position_m[:2])
    bowls = [twin(f"bowl{i}", [0.5, 0.1 * i, 0.03], [0.12, 0.12, 0.05]) for i in range(2)]
    assert np.allclose(free_spot(stove, bowls[0], scene(stove, *bowls), stove.position_m[:2]), stove.position_m[:2])


def test_a_book_standing_turned_is_grasped_across_its_thickness_not_by_a_rim():
    from hvla.skills.scripted.experts import KITCHEN_GRASP
    book = ObjectToken(track_id=0, label="book", score=1.0, position_m=np.array([0.53, 0.17, 0.04]),
                       extent_m=np.array([0.103, 0.093, 0.134]), color_name="black", color_rgb=np.zeros(3),
                       yaw_rad=np.radians(-40), name="book", footprint_m=np.array([0.11, 0.029]))
    assert not KITCHEN_GRASP.by_rim(book)
    bowl = tok("bowl", [0.5, 0.0, 0.03], [0.11, 0.11, 0.05])  # no footprint known: its box decides
    assert KITCHEN_GRASP.by_rim(bowl)


def test_a_book_goes_into_a_slot_lengthwise():
    from hvla.skills.scripted.experts import slot_turn
    slot = tok("slot", [0.32, -0.14, 0.09], [0.025, 0.128, 0.1], "container")
    book = ObjectToken(track_id=0, label="book", score=1.0, position_m=np.array([0.53, 0.17, 0.2]),
                       extent_m=np.array([0.103, 0.093, 0.134]), color_name="black", color_rgb=np.zeros(3),
                       yaw_rad=np.radians(-40), name="book", footprint_m=np.array([0.11, 0.029]))
    turn = slot_turn(slot, book)
    assert turn is not None and np.isclose(abs(np.degrees(turn)), 50.0)  # its long side along the slot's y
    basket = tok("basket", [0.5, 0.27, 0.04], [0.16, 0.22, 0.08], "container")
    assert slot_turn(basket, book) is None  # fits any way round
