"""Typos read as the scene's words, only where the rules could not read the instruction as typed."""

from __future__ import annotations

import pytest

from hvla.planner import OfflinePlanner
from hvla.planner.language.spelling import respell


@pytest.fixture(scope="module")
def planner(encoder) -> OfflinePlanner:
    return OfflinePlanner(encoder=encoder)

KNOWN = {"apple", "banana", "bowl", "plate", "lemon", "put", "in", "on", "the", "sponge", "counter", "cup"}
ENGLISH = {"the", "put", "would", "cap", "dish", "pear", "in", "on"}


@pytest.mark.parametrize(("typed", "meant"), [
    ("put the aple on the plat", "put the apple on the plate"),
    ("put teh bananna in the bwol", "put the banana in the bowl"),  # a swap, a double letter, a swap
    ("put the lemmon in the bowl", "put the lemon in the bowl"),
])
def test_a_typo_becomes_the_one_scene_word_it_is_close_to(typed, meant):
    words, notes = respell(typed.split(), KNOWN, ENGLISH)
    assert " ".join(words) == meant and notes


@pytest.mark.parametrize("typed", ["put the cap in the bowl", "put the pear in the dish", "put the xyzzy in it"])
def test_english_words_and_far_words_stay_as_typed(typed):
    words, notes = respell(typed.split(), KNOWN, ENGLISH)
    assert words == typed.split() and notes == []


def test_a_typo_close_to_two_words_stays_as_typed():
    words, _ = respell(["bowk"], {"bowl", "book"}, set())
    assert words == ["bowk"]


def test_the_offline_planner_reads_typos_and_says_how(planner, kitchen):
    plan = planner.plan("put the aple in the bwol", kitchen)
    assert [(s.skill, dict(s.args)) for s in plan.subgoals()] == [
        ("pick_place", {"object": "apple", "target": "bowl"})]
    assert "'aple' read as 'apple'" in plan.notes and "'bwol' read as 'bowl'" in plan.notes
    assert planner.plan("put the apple in the bowl", kitchen).notes == ()
