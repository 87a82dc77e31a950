"""Intervention / attention debugging: the shadow expert's disagreement, grouped into interventions."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.messages import Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.debugging import ShadowedPolicy, StepTrace, interventions
from hvla.skills.policy.learned import LearnedSkills


def _step(t: float, gap: float | None, subgoal: str = "s0", grip: bool = False) -> StepTrace:
    return StepTrace(t, subgoal, "descend", gap, grip, {"object:banana": 0.5})


def test_runs_of_parted_steps_become_interventions_within_one_subgoal():
    gaps = [0.0, 0.05, 0.06, 0.07, 0.0, 0.05, 0.05, 0.0]  # a run of 3 (counts), a run of 2 (noise)
    trace = [_step(0.1 * i, g) for i, g in enumerate(gaps)]
    trace += [_step(1.0, 0.05), _step(1.1, 0.05, "s1"), _step(1.2, 0.05, "s1"), _step(1.3, 0.0, "s1", grip=True)]
    trace += [_step(1.4, None, "s1")]  # the expert had no answer: never parted
    found = interventions(trace)
    assert [(iv.subgoal, iv.steps) for iv in found] == [("s0", 3), ("s1", 3)]
    assert found[0].start_s == pytest.approx(0.1) and found[0].max_gap_m == pytest.approx(0.07)
    assert found[1].gripper and not found[0].gripper


def test_the_shadowed_learned_policy_records_every_step_with_its_attention():
    world = KitchenWorld(seed=4)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    policy = ShadowedPolicy(LearnedSkills(), seed=4)
    policy.reset(scene, Subgoal("s0", "pick_place", {"object": "apple", "target": "plate"}))
    for _ in range(3):
        chunk = policy.act(scene, obs.proprio)
    assert len(chunk) == 10 and len(policy.trace) == 3
    step = policy.trace[-1]
    assert step.phase and step.gap_m is not None and np.isfinite(step.gap_m)
    assert len(step.focus) == 3 and all(0 <= v <= 1 for v in step.focus.values())
    assert policy.to_json()["steps"][0]["subgoal"] == "s0"
    world.close()


def test_an_intervention_of_the_end_to_end_net_writes_its_saliency_image(tmp_path):
    from hvla.skills.e2e.policy import EndToEndSkills

    world = KitchenWorld(seed=4)
    obs = world.observe(("scene", "wrist"))
    scene = OraclePerception().perceive(obs)
    policy = ShadowedPolicy(EndToEndSkills(), 4, None, tmp_path, gap_m=0.0)  # every step parts
    policy.reset(scene, Subgoal("s0", "pick", {"object": "apple"}))
    for _ in range(4):
        policy.act(scene, obs.proprio)
    assert len(list(tmp_path.glob("s0_*.png"))) == 1  # once, when the run reaches MIN_STEPS
    assert set(policy.trace[-1].focus) == {"scene:u", "scene:v", "wrist:u", "wrist:v"}
    world.close()
