"""Noun phrase -> scene objects: label, synonym, colour, size, position, category, function, landmark."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hvla.core.errors import GroundingError
from hvla.planner.errors import AmbiguityError, ObjectNotFoundError
from hvla.planner.language.grounding import (
    Grounder,
    LexicalScorer,
    ObjectQuery,
    PhraseScorer,
    _elongation,
    parse_object_phrase,
)
from hvla.planner.ontology import is_graspable


def names(grounder: Grounder, phrase: str, scene, **kw) -> tuple[str, ...]:
    return grounder.ground(phrase, scene, **kw).names


@pytest.fixture
def grounder() -> Grounder:
    return Grounder()


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("the banana", "banana"),
        ("banana", "banana"),
        ("the Banana", "banana"),
        ("the yellow fruit", "banana"),
        ("the yellow one", "banana"),
        ("the fruit that is yellow", "banana"),
        ("the orange fruit", "mango"),  # colour "orange-yellow" contains "orange"
        ("the mug", "cup"),  # synonym
        ("the dish", "plate"),
        ("the thing you wipe with", "sponge"),
        ("something to wipe with", "sponge"),
        ("the cleaning thing", "sponge"),
        ("the rag", "sponge"),
        ("the tool", "sponge"),
        ("the purple block", "block_0"),
        ("the cube", "block_0"),
        ("block_0", "block_0"),  # instance names ground too
        ("the white container", "bowl"),
        ("the grey surface", "plate"),
    ],
)
def test_phrases_ground_by_label_synonym_colour_category_and_function(grounder, kitchen, phrase, expected):
    assert names(grounder, phrase, kitchen) == (expected,)


def test_affordance_preference_breaks_a_tie_between_a_red_fruit_and_a_red_cup(grounder, kitchen):
    with pytest.raises(AmbiguityError):
        grounder.ground("the red one", kitchen)
    assert names(grounder, "the red one", kitchen, prefer=is_graspable) == ("apple",)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("the apple on the left", "apple_0"),
        ("the left apple", "apple_0"),
        ("the leftmost apple", "apple_0"),
        ("the apple on the right", "apple_1"),
        ("the red one on the right side", "apple_1"),
        ("the apple to the right", "apple_1"),
        ("the near bowl", "bowl_0"),
        ("the closest bowl", "bowl_0"),
        ("the bowl closest to you", "bowl_0"),
        ("the far bowl", "bowl_1"),
        ("the bowl at the back", "bowl_1"),
        ("the bowl in front", "bowl_0"),
        ("the apple next to the sponge", "apple_1"),
        ("the apple farthest from the sponge", "apple_0"),
    ],
)
def test_position_words_use_the_robot_frame_left_is_plus_y_near_is_small_x(grounder, two_apples, phrase, expected):
    assert names(grounder, phrase, two_apples) == (expected,)


def test_size_words_pick_the_extreme(grounder, scene_of, make_token):
    scene = scene_of(
        make_token("bowl_big", "bowl", "container", "white", (0.5, 0.2, 0.03), (0.24, 0.24, 0.07)),
        make_token("bowl_small", "bowl", "container", "white", (0.5, -0.2, 0.03), (0.12, 0.12, 0.05)),
    )
    assert names(grounder, "the big bowl", scene) == ("bowl_big",)
    assert names(grounder, "the smaller bowl", scene) == ("bowl_small",)
    assert names(grounder, "the biggest container", scene) == ("bowl_big",)


def test_equal_sizes_stay_ambiguous(grounder, two_apples):
    with pytest.raises(AmbiguityError):
        grounder.ground("the big apple", two_apples)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("all the fruit", {"banana", "apple", "mango"}),
        ("every fruit", {"banana", "apple", "mango"}),
        ("the fruits", {"banana", "apple", "mango"}),
        ("all the yellow fruit", {"banana", "mango"}),  # mango is "orange-yellow"
        ("all the fruit on the left", {"banana"}),
        ("both apples", None),  # only one apple in the kitchen
    ],
)
def test_plural_phrases_expand_to_every_match(grounder, kitchen, phrase, expected):
    if expected is None:
        with pytest.raises(ObjectNotFoundError, match="asks for 2 but only 1"):
            grounder.ground(phrase, kitchen)
        return
    g = grounder.ground(phrase, kitchen)
    assert g.plural and set(g.names) == expected


def test_everything_means_every_graspable_object_when_graspable_is_preferred(grounder, kitchen):
    g = grounder.ground("everything", kitchen, prefer=is_graspable, exclude=("bowl",))
    assert set(g.names) == {"banana", "apple", "mango", "sponge", "block_0"}


def test_unknown_word_is_named_and_the_scene_is_listed(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError) as info:
        grounder.ground("the unicorn", kitchen)
    message = str(info.value)
    assert "'the unicorn'" in message and "'unicorn'" in message
    for tok in kitchen.tokens:
        assert tok.name in message
    assert info.value.objects == tuple(t.name for t in kitchen.tokens)


def test_a_known_object_that_is_absent_is_reported_as_absent(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError, match="there is no lemon in the scene"):
        grounder.ground("the lemon", kitchen)
    with pytest.raises(ObjectNotFoundError, match="there is no blue fruit in the scene"):
        grounder.ground("the blue fruit", kitchen)


def test_an_unknown_adjective_is_refused_rather_than_ignored(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError, match="'plutonium'"):
        grounder.ground("the plutonium banana", kitchen)


def test_the_counter_is_a_surface_not_an_object(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError, match="the counter is a surface region"):
        grounder.ground("the counter", kitchen)


def test_ambiguity_lists_the_candidates(grounder, kitchen):
    with pytest.raises(AmbiguityError) as info:
        grounder.ground("the fruit", kitchen)
    assert set(info.value.candidates) == {"banana", "apple", "mango"}
    assert "ambiguous" in str(info.value) and "banana (yellow fruit, left)" in str(info.value)


def test_plural_phrases_refuse_superlatives(grounder, kitchen):
    with pytest.raises(GroundingError, match="only combine with left or right"):
        grounder.ground("all the biggest fruit", kitchen)


def test_parse_reads_the_parts_of_a_phrase():
    q = parse_object_phrase("the big red apple on the left next to the bowl")
    assert q.head is not None and q.head.word == "apple"
    assert (q.colors, q.size, q.side) == (("red",), "big", "left")
    assert q.landmark is not None and q.landmark.head is not None and q.landmark.head.word == "bowl"
    assert parse_object_phrase("the orange").head.word == "orange"  # the fruit
    assert parse_object_phrase("the orange one").colors == ("orange",)  # the colour
    assert parse_object_phrase("all the apples").plural


class _AlwaysSponge:
    """A stand-in for a learned scorer: it decides by itself, whatever the words."""

    def score(self, query: ObjectQuery, tokens):
        return [1.0 if t.name == "sponge" else 0.0 for t in tokens]


def test_a_custom_scorer_plugs_in(kitchen):
    assert isinstance(LexicalScorer(), PhraseScorer) and isinstance(_AlwaysSponge(), PhraseScorer)
    assert Grounder(_AlwaysSponge()).ground("the mango", kitchen).names == ("sponge",)


def test_multi_word_scene_labels_ground_as_one_noun(grounder, scene_of, make_token):
    scene = scene_of(
        make_token("fruit_bowl_0", "fruit_bowl", "container", "white", (0.5, 0.2, 0.03), (0.2, 0.2, 0.05)),
        make_token("soup_bowl_0", "soup bowl", "container", "white", (0.5, -0.2, 0.03), (0.15, 0.15, 0.05)),
    )
    assert names(grounder, "the fruit bowl", scene) == ("fruit_bowl_0",)
    assert names(grounder, "the soup bowl", scene) == ("soup_bowl_0",)
    assert set(names(grounder, "all the bowls", scene)) == {"fruit_bowl_0", "soup_bowl_0"}
    with pytest.raises(AmbiguityError):
        grounder.ground("the bowl", scene)


def test_two_object_nouns_in_one_phrase_are_refused_but_a_category_may_modify(grounder, kitchen):
    assert names(grounder, "the fruit bowl", kitchen) == ("bowl",)
    assert names(grounder, "the cleaning thing", kitchen) == ("sponge",)
    with pytest.raises(ObjectNotFoundError, match="'banana'"):
        grounder.ground("the banana apple", kitchen)


def test_a_turned_banana_is_still_long_and_a_lemon_is_not(make_token):
    a, b, yaw = 0.16, 0.036, 0.4  # a banana turned 23 degrees: its world box is 0.16 x 0.09
    box = (a * np.cos(yaw) + b * np.sin(yaw), a * np.sin(yaw) + b * np.cos(yaw), 0.036)
    banana = replace(make_token("banana", "banana", "fruit", "yellow", (0.4, 0.0, 0.02), box), yaw_rad=yaw)
    assert _elongation(banana) == pytest.approx(a / b, rel=1e-6)
    square = replace(banana, extent_m=np.array([0.138, 0.138, 0.036]), yaw_rad=np.pi / 4)  # 45 degrees
    assert _elongation(square) > 3.0  # the height stands in for the short side
    lemon = make_token("lemon", "lemon", "fruit", "yellow", (0.4, 0.1, 0.03), (0.08, 0.06, 0.06))
    assert _elongation(lemon) < 1.4
