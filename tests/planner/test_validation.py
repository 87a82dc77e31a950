"""The output contract all planner backends share: known skills, exact roles, scene arguments only."""

from __future__ import annotations

import pytest

from hvla.core.errors import GroundingError
from hvla.core.messages import Plan, Subgoal
from hvla.planner.feasibility.validation import validate_plan


def test_a_plan_of_known_skills_on_scene_objects_passes(kitchen):
    plan = Plan.sequence([
        Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"}),
        Subgoal("s1", "wipe", {"region": "counter", "tool": "sponge"}),
    ])
    validate_plan(plan, kitchen)


@pytest.mark.parametrize(
    ("subgoal", "message"),
    [
        (Subgoal("s0", "self_destruct", {}), "'self_destruct' is not a known skill"),
        (Subgoal("s0", "pick", {"object": "unicorn"}), "object='unicorn' is not an object in the scene"),
        (Subgoal("s0", "pick", {"object": "apple", "speed": "max"}), "takes arguments"),
        (Subgoal("s0", "wipe", {"region": "robot", "tool": "sponge"}), "region='robot' is not one of"),
    ],
)
def test_anything_outside_the_vocabulary_or_the_scene_is_refused(kitchen, subgoal, message):
    with pytest.raises(GroundingError, match=message):
        validate_plan(Plan.sequence([subgoal]), kitchen)
