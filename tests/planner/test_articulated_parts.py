"""Parts that open, close or turn (LIBERO's drawers, microwave door, stove knob), places beside things and
pushes: verbs, grounding, "it"."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hvla.core.errors import GroundingError
from hvla.core.messages import Articulation
from hvla.planner.backends.rules import RuleBasedPlanner
from hvla.planner.errors import InfeasibleError

from .conftest import make_scene, token


def _part(tok, kind="slide", switch=False, q=0.0, open_range=(-0.16, -0.14), closed_range=(0.0, 0.005)):
    art = Articulation(kind, np.array([0.0, -1.0, 0.0]), tok.position_m, q, open_range, closed_range,
                       tok.position_m, tok.extent_m, switch=switch)
    return dataclasses.replace(tok, articulation=art)


@pytest.fixture
def kitchen():
    drawers = [_part(token(f"cabinet_1_{w}_region", f"{w} drawer", "container", "unknown", (0.68, -0.24, z),
                           (0.22, 0.2, 0.07)), q=-0.15 if w == "bottom" else 0.0)
               for w, z in (("top", 0.18), ("middle", 0.11), ("bottom", 0.04))]
    return make_scene(
        token("akita_black_bowl_1", "akita black bowl", "object", "black", (0.57, 0.0, 0.01), (0.11, 0.11, 0.05)),
        token("moka_pot_1", "moka pot", "object", "unknown", (0.45, 0.1, 0.03)),
        token("white_yellow_mug_1", "white yellow mug", "object", "white yellow", (0.5, -0.1, 0.03)),
        token("porcelain_mug_1", "porcelain mug", "object", "white", (0.5, 0.1, 0.03)),
        token("cabinet_1", "wooden cabinet", "surface", "unknown", (0.68, -0.26, 0.1), (0.25, 0.22, 0.22)),
        _part(token("flat_stove_1", "flat stove", "surface", "unknown", (0.4, 0.22, -0.04), (0.3, 0.19, 0.07)),
              kind="hinge", switch=True, open_range=(0.5, 2.1), closed_range=(-0.005, 0.0)),
        _part(token("microwave_1", "microwave", "container", "unknown", (0.3, 0.3, 0.1), (0.3, 0.25, 0.2)),
              kind="hinge", q=-1.6, open_range=(-2.094, -1.3), closed_range=(-0.005, 0.0)),
        token("plate_1", "plate", "object", "unknown", (0.66, 0.0, 0.0), (0.14, 0.14, 0.02)),
        token("table_plate_right_region", "right of the plate", "surface", "unknown", (0.66, 0.1, -0.01),
              (0.1, 0.1, 0.002)),
        token("table_stove_front_region", "front of the stove", "surface", "unknown", (0.6, 0.2, -0.01),
              (0.08, 0.08, 0.002)),
        *drawers,
    )


def steps(text, scene):
    return [(sg.skill, dict(sg.args)) for sg in RuleBasedPlanner().plan(text, scene).subgoals()]


@pytest.mark.parametrize(("text", "expected"), [
    ("open the middle drawer of the cabinet", [("open", {"object": "cabinet_1_middle_region"})]),
    ("open the top drawer and put the bowl inside",
     [("open", {"object": "cabinet_1_top_region"}),
      ("pick_place", {"object": "akita_black_bowl_1", "target": "cabinet_1_top_region"})]),
    ("put the black bowl in the bottom drawer of the cabinet and close it",
     [("pick_place", {"object": "akita_black_bowl_1", "target": "cabinet_1_bottom_region"}),
      ("close", {"object": "cabinet_1_bottom_region"})]),
    ("turn on the stove", [("turn_on", {"object": "flat_stove_1"})]),
    ("switch the stove off", [("turn_off", {"object": "flat_stove_1"})]),
    ("turn on the stove and put the moka pot on it",
     [("turn_on", {"object": "flat_stove_1"}), ("pick_place", {"object": "moka_pot_1", "target": "flat_stove_1"})]),
    ("put the yellow and white mug in the microwave and close it",
     [("pick_place", {"object": "white_yellow_mug_1", "target": "microwave_1"}), ("close", {"object": "microwave_1"})]),
    ("shut the microwave", [("close", {"object": "microwave_1"})]),
    ("put the white mug in the microwave", [("pick_place", {"object": "porcelain_mug_1", "target": "microwave_1"})]),
    ("put the moka pot to the right of the plate",
     [("pick_place", {"object": "moka_pot_1", "target": "table_plate_right_region"})]),
    ("push the plate to the front of the stove",
     [("push", {"object": "plate_1", "target": "table_stove_front_region"})]),
    ("put the moka pot on the plate", [("pick_place", {"object": "moka_pot_1", "target": "plate_1"})]),  # not beside it
])
def test_part_verbs_plan(kitchen, text, expected):
    assert steps(text, kitchen) == expected


def test_a_thing_that_does_not_open_is_refused(kitchen):
    with pytest.raises(InfeasibleError, match="not a drawer or a door"):
        steps("open the moka pot", kitchen)


def test_it_must_name_something_that_opens(kitchen):
    with pytest.raises(GroundingError, match="nothing named before"):
        steps("pick up the moka pot and close it", kitchen)


def test_close_to_is_still_a_relation(kitchen):
    plan = steps("pick up the moka pot close to the bowl", kitchen)
    assert plan[0][0] == "pick"


def test_push_needs_a_free_hand(kitchen):
    with pytest.raises(InfeasibleError, match="gripper holds"):
        steps("pick up the moka pot and push the plate to the front of the stove", kitchen)
