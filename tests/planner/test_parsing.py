"""Instruction text -> stages of clauses (no scene involved)."""

from __future__ import annotations

import pytest

from hvla.core.errors import GroundingError
from hvla.planner.language.parsing import Item, parse_instruction
from hvla.planner.language.vocab import Intent


def shape(instruction: str) -> list[list[tuple]]:
    """Stages as [[(intent, items or tool), ...], ...] for compact asserts."""
    out = []
    for stage in parse_instruction(instruction):
        out.append([(c.intent.value, c.items if c.intent is not Intent.WIPE else c.tool) for c in stage])
    return out


PUT_BANANA = ("put", (Item("the banana", "the bowl"),))
WIPE = ("wipe", None)


@pytest.mark.parametrize(
    "instruction",
    [
        "put the banana in the bowl, then wipe the counter",
        "put the banana in the bowl and then wipe the counter",
        "put the banana in the bowl then wipe the counter",
        "first put the banana in the bowl, after that wipe the counter",
        "put the banana in the bowl; wipe the counter",
        "Put the banana in the bowl. Then wipe the counter!",
        "put the banana in the bowl, afterwards wipe the counter",
        "put the banana in the bowl. finally, wipe the counter",
        "put the banana in the bowl, once that's done wipe the counter",
        "before you wipe the counter, put the banana in the bowl",
        "after you put the banana in the bowl, wipe the counter",
        "wipe the counter after you put the banana in the bowl",
        "put the banana in the bowl before wiping the counter",
        "please could you put the banana in the bowl, then wipe the counter for me",
    ],
)
def test_sequencing_phrasings_give_two_ordered_stages(instruction):
    assert shape(instruction) == [[PUT_BANANA], [WIPE]]


def test_and_between_clauses_keeps_them_in_one_stage():
    assert shape("put the banana in the bowl and wipe the counter") == [[PUT_BANANA, WIPE]]


def test_coordinated_objects_share_the_destination_named_last():
    items = (Item("the apple", "the plate"), Item("the lemon", "the plate"))
    assert shape("put the apple and the lemon on the plate") == [[("put", items)]]
    items3 = (Item("the apple", "the bowl"), Item("the lemon", "the bowl"), Item("the mango", "the bowl"))
    assert shape("put the apple, the lemon and the mango in the bowl") == [[("put", items3)]]


def test_each_object_keeps_its_own_destination():
    items = (Item("the apple", "the bowl"), Item("the lemon", "the plate"))
    assert shape("put the apple in the bowl and the lemon on the plate") == [[("put", items)]]


def test_position_words_stay_in_the_object_phrase():
    [[clause]] = parse_instruction("put the red one on the left in the bowl on the right")
    assert clause.items == (Item("the red one on the left", "the bowl on the right"),)
    [[clause]] = parse_instruction("put the apple on the left plate")
    assert clause.items == (Item("the apple", "the left plate"),)


def test_pick_verbs_take_only_directional_destinations():
    [[clause]] = parse_instruction("grab the apple in the bowl")
    assert clause.intent is Intent.PICK and clause.items == (Item("the apple in the bowl"),)
    [[clause]] = parse_instruction("take the apple to the plate")
    assert clause.items == (Item("the apple", "the plate"),)


@pytest.mark.parametrize(
    ("instruction", "tool"),
    [
        ("wipe the counter", None),
        ("wipe down the counter", None),
        ("clean the table", None),
        ("scrub the counter with the sponge", "the sponge"),
        ("use the sponge to wipe the counter", "the sponge"),
        ("clean up the spill on the counter using the green sponge", "the green sponge"),
        ("wipe the counter down", None),
    ],
)
def test_wipe_paraphrases(instruction, tool):
    [[clause]] = parse_instruction(instruction)
    assert clause.intent is Intent.WIPE and clause.region == "counter" and clause.tool == tool


def test_particles_and_pronouns():
    [[pick, put]] = parse_instruction("pick the apple up and put it back in the bowl")
    assert pick.items == (Item("the apple"),)
    assert put.items == (Item("it", "the bowl"),)


@pytest.mark.parametrize("instruction", ["", "   ", "\n\t"])
def test_empty_instruction_says_so(instruction):
    with pytest.raises(GroundingError, match="empty instruction"):
        parse_instruction(instruction)


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        ("!!! ???", "no words"),
        ("banana bowl", "does not start with an action"),
        ("please", "does not start with an action"),
        ("put the banana", "where should 'the banana' go"),
        ("wipe the bowl", "only wipe the counter"),
        ("put the banana in the bowl, then dance", "could not understand 'dance'"),
    ],
)
def test_unparseable_instructions_are_refused_with_the_part_that_failed(instruction, message):
    with pytest.raises(GroundingError, match=message):
        parse_instruction(instruction)


def test_overlong_instructions_are_refused_not_truncated():
    with pytest.raises(GroundingError, match="limit is 500"):
        parse_instruction("put the banana in the bowl, " * 30)


@pytest.mark.parametrize(
    "instruction",
    [
        "put the banana in the bowl and wipe the counter afterwards",
        "put the banana in the bowl, and wipe the counter when you're done",
        "put the banana in the bowl and wipe the counter afterwards, please",
    ],
)
def test_a_marker_at_the_end_orders_the_last_clause_after_the_others(instruction):
    assert shape(instruction) == [[PUT_BANANA], [WIPE]]


@pytest.mark.parametrize(
    "instruction",
    ["hey robot, put the banana in the bowl", "robot, please put the banana in the bowl",
     "go ahead and put the banana in the bowl", "ok, so, put the banana in the bowl"],
)
def test_openers_before_a_comma_or_and_are_not_clauses(instruction):
    assert shape(instruction) == [[PUT_BANANA]]


def test_both_a_and_b_are_two_items():
    items = (Item("the apple", "the bowl"), Item("the banana", "the bowl"))
    assert shape("put both the apple and the banana in the bowl") == [[("put", items)]]


def test_away_before_a_destination_is_a_particle():
    assert shape("tidy all the fruit away into the bowl") == [[("put", (Item("all the fruit", "the bowl"),))]]


def test_use_x_to_wipe_after_and_starts_a_clause():
    [[pick, wipe]] = parse_instruction("pick up the sponge and use it to wipe the counter")
    assert pick.items == (Item("the sponge"),)
    assert (wipe.intent, wipe.tool) == (Intent.WIPE, "it")


@pytest.mark.parametrize(
    "instruction",
    [
        "wipe the counter, but first put the banana in the bowl",
        "Wipe the counter. Before that, put the banana in the bowl.",
        "wipe the counter; but before doing that put the banana in the bowl",
        "wipe the counter - prior to that, put the banana in the bowl",
    ],
)
def test_the_later_action_said_first_still_runs_second(instruction):
    assert shape(instruction) == [[PUT_BANANA], [WIPE]]


def test_before_that_with_nothing_before_it_is_refused_with_the_reason():
    with pytest.raises(GroundingError, match="none was said before it"):
        parse_instruction("before that, wipe the counter")
