"""The scripted experts (modular baseline and demonstrators) on a handful of fixed kitchens."""

import pytest

from hvla.core.errors import MessageError
from hvla.core.messages import Scene, Subgoal
from hvla.orchestration.evaluation import SkillCase, run_skill_case
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.scripted.policy import UNSEEN_PATIENCE_STEPS, ScriptedSkills


@pytest.mark.parametrize(
    ("case", "seed"),
    [
        (SkillCase("pick_place", (("object", "banana"), ("target", "bowl"))), 0),
        (SkillCase("pick_place", (("object", "apple"), ("target", "plate"))), 1),
        (SkillCase("pick", (("object", "lemon"),)), 2),
        (SkillCase("pick", (("object", "sponge"),)), 3),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_scripted_expert_succeeds(case, seed):
    result = run_skill_case(case, seed)
    assert result.success, result.reason


@pytest.mark.slow
def test_scripted_wipe_cleans_the_counter():
    result = run_skill_case(SkillCase("wipe", (("tool", "sponge"), ("region", "counter"))), 4)
    assert result.success, result.reason


def _scene_without_banana():
    """(observation, full scene, the same scene with the banana hidden) of kitchen 5."""
    obs = KitchenWorld(seed=5).observe(())
    scene = OraclePerception().perceive(obs)
    return obs, scene, Scene(tuple(t for t in scene.tokens if t.name != "banana"), obs, scene.flags)


def test_scripted_skills_keep_an_object_that_drops_out_of_a_frame_where_it_was_last_seen():
    obs, scene, hidden = _scene_without_banana()
    policy = ScriptedSkills()
    policy.reset(scene, Subgoal("s0", "pick", {"object": "banana"}))
    seen = policy.act(scene, obs.proprio)
    assert (policy.act(hidden, obs.proprio).ee_targets == seen.ee_targets).all()


def test_scripted_skills_wait_for_an_object_not_yet_seen_then_name_it():
    obs, _, hidden = _scene_without_banana()
    policy = ScriptedSkills()
    policy.reset(hidden, Subgoal("s0", "pick", {"object": "banana"}))
    for _ in range(UNSEEN_PATIENCE_STEPS):
        chunk = policy.act(hidden, obs.proprio)
        assert abs(chunk.ee_targets[:, :3] - obs.proprio.ee_position_m).max() < 1e-9  # holds still
    with pytest.raises(MessageError, match="banana"):
        policy.act(hidden, obs.proprio)
