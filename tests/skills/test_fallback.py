"""A learned policy runs only the skills and the world it was trained for; a configured fallback takes the rest."""

from __future__ import annotations

import pytest

from hvla.core.errors import ConfigError, MessageError
from hvla.core.messages import Subgoal
from hvla.orchestration import StackConfig, build_world
from hvla.orchestration.builder import build_skills
from hvla.perception.oracle import OraclePerception
from hvla.skills.data.lerobot import DatasetWriter
from hvla.skills.policy import LearnedSkillsConfig
from hvla.skills.policy.train import TrainConfig, train_policy
from hvla.skills.scripted import ScriptedSkillsConfig


def _checkpoint(root, episode_factory, world: str | None):
    writer = DatasetWriter(root / "data", extra_info={"world": world} if world else None)
    for i in range(4):
        writer.stage(episode_factory(f"e{i}", 12, i, skill="pick"))
    writer.finalise()
    cfg = TrainConfig(epochs=1, steps_per_epoch=2, batch_size=8, curriculum_epochs=0, warmup_steps=1, threads=1,
                      val_fraction=0.0)
    return train_policy([root / "data"], root / "run", cfg, progress=False).checkpoint


def test_a_skill_outside_the_checkpoint_is_refused_or_handed_to_the_fallback(tmp_path, episode_factory):
    checkpoint = str(_checkpoint(tmp_path, episode_factory, None))
    stack = StackConfig(perception="oracle", skills="learned",
                        configs={"skills": LearnedSkillsConfig(checkpoint=checkpoint, anomaly=None)})
    world = build_world(3, stack)
    scene = OraclePerception().perceive(world.observe(()))
    wipe = Subgoal("s1", "wipe", {"tool": "sponge", "region": "dirt"})
    with pytest.raises(MessageError, match=r"trained on skills \['pick'\], not 'wipe'"):
        build_skills(stack, world).reset(scene, wipe)
    hybrid = build_skills(stack.with_config("skills", LearnedSkillsConfig(
        checkpoint=checkpoint, anomaly=None, fallback=ScriptedSkillsConfig())), world)
    hybrid.reset(scene, wipe)
    assert hybrid.backend == "fallback"
    assert hybrid.fallback.grasp.fingertip_above_tcp_m == world.fingertip_above_tcp_m  # the world's gripper
    hybrid.reset(scene, Subgoal("s0", "pick", {"object": "banana"}))
    assert hybrid.backend == "learned" and len(hybrid.act(scene, world.observe(()).proprio)) == 10


def test_a_checkpoint_from_another_world_is_refused_by_name(tmp_path, episode_factory):
    checkpoint = str(_checkpoint(tmp_path, episode_factory, "libero"))
    stack = StackConfig(perception="oracle", skills="learned",
                        configs={"skills": LearnedSkillsConfig(checkpoint=checkpoint, anomaly=None)})
    with pytest.raises(ConfigError, match="trained in world 'libero', this stack runs world 'kitchen'"):
        build_skills(stack, build_world(3, stack))
