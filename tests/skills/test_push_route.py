"""Where a scripted push goes: straight when clear, an L round what is in the way, the hand's body clear of fixtures."""

import numpy as np
import pytest

from hvla.core.messages import ObjectToken, Observation, Proprio, Scene
from hvla.skills.scripted.experts import PhaseExpert
from hvla.skills.scripted.motion import down_matrix
from hvla.skills.scripted.push import push_phases
from hvla.skills.scripted.push_route import (
    FINGERS_HALF_SPAN_M,
    MAX_REACH_M,
    PUSH_GEOMETRY,
    contacts,
    direction,
    hand_hits,
    is_dish,
    object_hits,
    obstacles,
    route,
)

PLATE_EXTENT = [0.137, 0.137, 0.019]


def tok(name, xyz, extent, category="object"):
    return ObjectToken(track_id=0, label=name, score=1.0, position_m=np.array(xyz, float),
                       extent_m=np.array(extent, float), color_name="unknown", color_rgb=np.zeros(3),
                       category=category, name=name)


def scene(*tokens):
    return Scene(tuple(tokens), Observation(0.0, Proprio(np.zeros(7), np.zeros(7), 0.08, np.eye(4))))


def _hands(obj, legs):
    """Every hand position of the route (coming down, then trailing the object), with its push direction."""
    out, a = [], np.asarray(obj.position_m[:2], float)
    for leg in legs:
        d = direction(a, leg.end_xy)
        along = a[None] + np.linspace(0.0, 1.0, 12)[:, None] * (leg.end_xy - a)[None]
        c, s = np.cos(leg.hand_turn_rad), np.sin(leg.hand_turn_rad)
        axis = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
        out.append((np.vstack([(a - d * leg.start_m)[None], along - d * leg.contact_m]), axis, along))
        a = leg.end_xy
    return out


def test_an_open_table_is_one_straight_leg_pushed_from_outside_square_to_the_way():
    plate = tok("plate", [0.55, 0.0, -0.003], PLATE_EXTENT)
    region = tok("front_region", [0.5, 0.2, -0.017], [0.08, 0.08, 0.002], "surface")
    legs = route(scene(plate, region), plate, region)
    assert legs is not None and len(legs) == 1
    assert np.allclose(legs[0].end_xy, [0.5, 0.2]) and legs[0].hand_turn_rad == 0.0
    assert legs[0].contact_m == pytest.approx(0.5 * 0.137 + PUSH_GEOMETRY.finger_half_m)  # behind its rim


def test_a_thing_in_the_straight_way_is_gone_round_in_two_legs():
    box = tok("box", [0.52, 0.3, 0.05], [0.2, 0.2, 0.1])
    bowl = tok("bowl", [0.55, 0.15, 0.025], [0.1, 0.1, 0.05], "container")  # right between
    region = tok("front_region", [0.55, 0.0, -0.017], [0.08, 0.08, 0.002], "surface")
    legs = route(scene(box, bowl, region), box, region)
    assert legs is not None and len(legs) == 2
    obs = obstacles(scene(box, bowl, region), box, region, region.position_m[:2], PUSH_GEOMETRY)
    for hands, axis, along in _hands(box, legs):
        assert not np.any(object_hits(along, 0.5 * 0.2, obs.sliding))  # the box never runs into the bowl
        assert not np.any(hand_hits(hands, axis, obs.fingers, FINGERS_HALF_SPAN_M, 0.0))
        assert np.all(np.linalg.norm(hands, axis=1) <= MAX_REACH_M)


def test_a_plate_against_a_cabinet_is_pushed_from_inside_its_rim_the_hand_clear_of_the_cabinet():
    # libero_goal "push the plate to the front of the stove": the cabinet's drawers 3.5 cm from the plate's rim.
    plate = tok("plate", [0.712, -0.028, -0.003], PLATE_EXTENT)
    cabinet = tok("cabinet", [0.681, -0.258, 0.105], [0.251, 0.189, 0.218], "fixture")
    drawer = tok("cabinet_top_region", [0.681, -0.235, 0.176], [0.219, 0.204, 0.069], "surface")
    region = tok("stove_front_region", [0.61, 0.21, -0.017], [0.08, 0.08, 0.002], "surface")
    world = scene(plate, cabinet, drawer, region)
    assert is_dish(plate)
    outside_start = plate.position_m[:2] - direction(plate.position_m, region.position_m) * \
        contacts(plate, direction(plate.position_m, region.position_m), PUSH_GEOMETRY)[0][1]
    obs = obstacles(world, plate, region, region.position_m[:2], PUSH_GEOMETRY)
    assert hand_hits(outside_start[None], direction(plate.position_m, region.position_m), obs.palm)[0]
    legs = route(world, plate, region)
    assert legs is not None
    for hands, axis, _along in _hands(plate, legs):
        assert not np.any(hand_hits(hands, axis, obs.palm))
    assert legs[0].contact_m < 0.5 * 0.137  # the first leg's fingers inside the rim


def test_a_book_is_no_dish():
    assert not is_dish(tok("book", [0.5, 0.0, 0.02], [0.14, 0.2, 0.04]))
    assert not is_dish(tok("stove", [0.5, 0.0, 0.0], [0.15, 0.15, 0.02], "fixture"))


def test_no_route_when_every_way_is_out_of_reach():
    plate = tok("plate", [0.95, 0.0, -0.003], PLATE_EXTENT)
    region = tok("far_region", [0.95, 0.3, -0.017], [0.08, 0.08, 0.002], "surface")
    assert route(scene(plate, region), plate, region) is None


def test_the_push_goes_on_until_the_object_is_there_not_the_hand():
    plate = tok("plate", [0.55, 0.0, -0.003], PLATE_EXTENT)
    region = tok("front_region", [0.55, 0.2, -0.017], [0.08, 0.08, 0.002], "surface")
    expert = PhaseExpert(push_phases("plate", "front_region", scene(plate, region)))
    names = [p.name for p in expert.phases]
    assert names == ["rise", "above", "descend", "push", "retreat"]
    push = expert.phases[names.index("push")]
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = down_matrix(np.pi / 2), [0.55, 0.05, 0.005]
    lagging = scene(tok("plate", [0.55, 0.12, -0.003], PLATE_EXTENT), region)  # slipped 4 cm behind the hand
    target, _yaw = push.target(lagging, Proprio(np.zeros(7), np.zeros(7), 0.0, T))
    assert target[:2] == pytest.approx([0.55, 0.05 + 0.08])  # on by the 8 cm the plate still lacks
    assert push.scalable and not expert.phases[0].wrist_headroom_rad  # quicker with nothing held; no wrist flip
