"""Affordances and the feasibility check of single steps (SayCan's "can it succeed from here")."""

from __future__ import annotations

import pytest

from hvla.planner.errors import InfeasibleError
from hvla.planner.feasibility.affordance import FeasibilityConfig, check_step, feasibility
from hvla.planner.ontology import is_graspable, is_receptacle, is_wiping_tool


def by_name(scene, name):
    tok = scene.find(name)
    assert tok is not None
    return tok


@pytest.mark.parametrize("name", ["banana", "apple", "mango", "sponge", "block_0"])
def test_fruit_tools_and_distractors_are_graspable(kitchen, name):
    assert is_graspable(by_name(kitchen, name))
    assert not is_receptacle(by_name(kitchen, name))


@pytest.mark.parametrize("name", ["bowl", "cup", "plate"])
def test_bowl_cup_and_plate_are_receptacles_not_graspable(kitchen, name):
    assert is_receptacle(by_name(kitchen, name))
    assert not is_graspable(by_name(kitchen, name))


def test_the_dirt_region_is_neither_graspable_nor_a_receptacle(kitchen):
    dirt = by_name(kitchen, "counter")
    assert not is_graspable(dirt) and not is_receptacle(dirt) and not is_wiping_tool(dirt)


def test_only_the_sponge_wipes(kitchen):
    assert [t.name for t in kitchen.tokens if is_wiping_tool(t)] == ["sponge"]


def test_a_container_cannot_be_the_object_of_pick_place(kitchen):
    bound = {"object": by_name(kitchen, "bowl"), "target": by_name(kitchen, "plate")}
    with pytest.raises(InfeasibleError, match=r"bowl.*not something to pick up"):
        check_step("pick_place", bound, held=None)


def test_a_fruit_cannot_be_a_target(kitchen):
    bound = {"object": by_name(kitchen, "apple"), "target": by_name(kitchen, "banana")}
    with pytest.raises(InfeasibleError, match=r"banana.*not a container"):
        check_step("pick_place", bound, held=None)


def test_an_object_out_of_reach_is_refused_with_the_distance(scene_of, make_token):
    scene = scene_of(
        make_token("apple", "apple", "fruit", "red", (0.5, 0.0, 0.03)),
        make_token("bowl", "bowl", "container", "white", (1.4, 0.0, 0.03), (0.2, 0.2, 0.05)),
    )
    bound = {"object": scene.find("apple"), "target": scene.find("bowl")}
    with pytest.raises(InfeasibleError, match=r"bowl is out of reach \(1\.30 m"):
        check_step("pick_place", bound, held=None)
    check_step("pick_place", bound, held=None, config=FeasibilityConfig(max_reach_m=None))


def test_picking_with_a_full_hand_is_refused(kitchen):
    with pytest.raises(InfeasibleError, match="already holds the banana"):
        check_step("pick", {"object": by_name(kitchen, "apple")}, held="banana")


def test_place_needs_the_object_in_the_gripper(kitchen):
    bound = {"object": by_name(kitchen, "apple"), "target": by_name(kitchen, "bowl")}
    with pytest.raises(InfeasibleError, match="not in the gripper"):
        check_step("place", bound, held=None)
    check_step("place", bound, held="apple")


def test_wipe_region_must_be_the_counter(kitchen):
    with pytest.raises(InfeasibleError, match="region must be one of"):
        check_step("wipe", {"region": "ceiling", "tool": by_name(kitchen, "sponge")}, held=None)
    check_step("wipe", {"region": "counter", "tool": by_name(kitchen, "sponge")}, held=None)


def test_a_full_container_is_refused_with_what_it_holds(kitchen):
    apple, mango, cup, bowl = (by_name(kitchen, n) for n in ("apple", "mango", "cup", "bowl"))
    check_step("pick_place", {"object": mango, "target": cup}, None, contents=[])
    with pytest.raises(InfeasibleError, match="the cup is full: it holds apple and has room for 1"):
        check_step("pick_place", {"object": mango, "target": cup}, None, contents=[apple])
    check_step("pick_place", {"object": mango, "target": bowl}, None, contents=[apple])  # a bowl holds 6


def test_feasibility_is_one_in_comfortable_reach_and_falls_near_the_limit(scene_of, make_token):
    scene = scene_of(
        make_token("apple", "apple", "fruit", "red", (0.5, 0.0, 0.03)),
        make_token("far", "apple", "fruit", "red", (0.80, 0.0, 0.03)),
        make_token("gone", "apple", "fruit", "red", (0.95, 0.0, 0.03)),
    )
    assert feasibility("pick", {"object": by_name(scene, "apple")}, None) == (1.0, "")
    value, _ = feasibility("pick", {"object": by_name(scene, "far")}, None)
    assert 0.5 < value < 1.0
    value, reason = feasibility("pick", {"object": by_name(scene, "gone")}, None)
    assert value == 0.0 and "out of reach" in reason
