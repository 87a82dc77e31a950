"""Nouns and relations a scene from another world brings (LIBERO's): learned from its labels, not a word list."""

from __future__ import annotations

import pytest

from hvla.planner.backends.rules import RuleBasedPlanner
from hvla.planner.errors import ObjectNotFoundError
from hvla.planner.language.grounding import Grounder
from hvla.planner.ontology import is_graspable, is_receptacle

from .conftest import make_scene, token


@pytest.fixture
def tabletop():
    """Two alike bowls, told apart only by where they are; things with multi-word and plural labels."""
    return make_scene(
        token("akita_black_bowl_1", "akita black bowl", "object", "black", (0.60, 0.00, 0.03), (0.11, 0.11, 0.05)),
        token("akita_black_bowl_2", "akita black bowl", "object", "black", (0.58, 0.20, 0.03), (0.11, 0.11, 0.05)),
        token("plate_1", "plate", "object", "unknown", (0.71, 0.20, 0.0), (0.14, 0.14, 0.02)),
        token("ramekin_1", "glazed rim porcelain ramekin", "object", "unknown", (0.46, 0.19, 0.01)),
        token("cookies_1", "cookies", "object", "unknown", (0.74, 0.03, 0.0), (0.08, 0.06, 0.02)),
        token("cream_cheese_1", "cream cheese", "object", "unknown", (0.40, -0.20, 0.01)),
        token("orange_juice_1", "orange juice", "object", "unknown", (0.40, -0.30, 0.06)),
        token("flat_stove_1", "flat stove", "fixture", "unknown", (0.35, -0.13, 0.01), (0.3, 0.2, 0.07)),
    )


@pytest.mark.parametrize(("phrase", "expected"), [
    ("the ramekin", "ramekin_1"),  # a label's last word names it
    ("the stove", "flat_stove_1"),
    ("the cookie box", "cookies_1"),  # a plural label's singular, then a packaging noun
    ("the cream cheese box", "cream_cheese_1"),
    ("the orange juice", "orange_juice_1"),  # the label wins over reading "orange" as a colour
    ("the black bowl between the plate and the ramekin", "akita_black_bowl_2"),
    ("the black bowl next to the cookie box", "akita_black_bowl_1"),
    ("the black bowl from table center", "akita_black_bowl_1"),
    ("the black bowl in the top drawer of the stove", "akita_black_bowl_1"),  # a part: its whole is the landmark
])
def test_scene_nouns_and_relations_ground(tabletop, phrase, expected):
    assert Grounder().ground(phrase, tabletop).names == (expected,)


def test_a_word_no_label_carries_stays_unknown(tabletop):
    with pytest.raises(ObjectNotFoundError, match="spatula"):
        Grounder().ground("the spatula", tabletop)


def test_a_movable_bowl_is_picked_and_still_holds_things(tabletop):
    bowl = tabletop.find("akita_black_bowl_1")
    assert is_graspable(bowl) and is_receptacle(bowl)
    assert not is_graspable(tabletop.find("flat_stove_1"))  # a fixture


def test_between_keeps_its_and_inside_one_clause(tabletop):
    plan = RuleBasedPlanner().plan(
        "pick up the black bowl between the plate and the ramekin and place it on the plate", tabletop)
    steps = [(sg.skill, dict(sg.args)) for sg in plan.subgoals()]
    assert steps == [("pick", {"object": "akita_black_bowl_2"}),
                     ("place", {"object": "akita_black_bowl_2", "target": "plate_1"})]


@pytest.mark.parametrize(("phrase", "expected"), [
    ("the cream cheese", "red_cream_cheese_1"),  # the colour a replaced object's class name opens with
    ("the red cream cheese", "red_cream_cheese_1"),
    ("the alphabet soup", "bigger_alphabet_soup_1"),  # ... or its size
    ("the basket", "red_basket_1"),
])
def test_a_label_opening_with_a_colour_or_size_answers_to_the_rest(phrase, expected):
    scene = make_scene(
        token("red_cream_cheese_1", "red cream cheese", "object", "red", (0.40, -0.20, 0.01)),
        token("bigger_alphabet_soup_1", "bigger alphabet soup", "object", "unknown", (0.50, 0.10, 0.04)),
        token("red_basket_1", "red basket", "container", "red", (0.55, 0.25, 0.03), (0.2, 0.15, 0.07)),
        token("milk_1", "milk", "object", "unknown", (0.45, 0.30, 0.05)),
    )
    assert Grounder().ground(phrase, scene).names == (expected,)
