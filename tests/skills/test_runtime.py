"""The ONNX runtime of the skill policy computes what the torch module computes."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.errors import ConfigError
from hvla.core.messages import Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.policy.checkpoint import load_policy
from hvla.skills.policy.learned import LearnedSkills
from hvla.skills.policy.runtime import onnx_cache_path


def test_onnx_and_torch_runtimes_give_the_same_chunks_embeddings_and_attention(tmp_path, monkeypatch):
    monkeypatch.setenv("HVLA_CACHE", str(tmp_path))
    world = KitchenWorld(seed=10001)
    oracle = OraclePerception()
    subgoal = Subgoal("s0", "pick_place", {"object": "apple", "target": "bowl"})
    runs = {}
    for runtime in ("torch", "onnx"):
        policy = LearnedSkills(load_policy(None), runtime=runtime)
        obs = world.observe(())
        scene = oracle.perceive(obs)
        policy.reset(scene, subgoal)
        runs[runtime] = (policy.act(scene, obs.proprio), policy.attention(), policy)
    (c_torch, a_torch, p_torch), (c_onnx, a_onnx, _) = runs["torch"], runs["onnx"]
    assert np.allclose(c_torch.ee_targets, c_onnx.ee_targets, atol=1e-5)
    assert np.array_equal(c_torch.gripper_m, c_onnx.gripper_m)
    assert a_torch["tokens"] == a_onnx["tokens"] and np.allclose(a_torch["layers"][0], a_onnx["layers"][0], atol=1e-6)
    assert onnx_cache_path(p_torch.policy).exists()  # exported once, keyed by the checkpoint's sha256


def test_a_word_first_met_at_run_time_reaches_the_exported_graph(tmp_path, monkeypatch):
    # The mango is a word the committed policy never met: the exported graph must take the grown table.
    monkeypatch.setenv("HVLA_CACHE", str(tmp_path))
    from hvla.sim.scene import SceneConfig

    world = KitchenWorld(seed=10002, scene=SceneConfig(required=("mango", "bowl"), optional=()))
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    chunks = []
    for runtime in ("torch", "onnx"):
        policy = LearnedSkills(load_policy(None), runtime=runtime)
        policy.reset(scene, Subgoal("s0", "pick", {"object": "mango"}))
        chunks.append(policy.act(scene, obs.proprio).ee_targets)
    assert np.allclose(*chunks, atol=1e-5)


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ConfigError, match="unknown policy runtime 'tensorrt'"):
        LearnedSkills(load_policy(None), runtime="tensorrt")


def test_the_int8_policy_stays_within_millimetres_of_fp32(tmp_path, monkeypatch):
    monkeypatch.setenv("HVLA_CACHE", str(tmp_path))
    world = KitchenWorld(seed=10003)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    chunks, policies = {}, {}
    for precision in ("fp32", "int8"):
        policy = LearnedSkills(load_policy(None), precision=precision)
        policy.reset(scene, Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"}))
        chunks[precision] = policy.act(scene, obs.proprio)
        policies[precision] = policy
    gap = np.linalg.norm(chunks["int8"].ee_targets[:, :3] - chunks["fp32"].ee_targets[:, :3], axis=1)
    assert gap.max() < 0.005, gap  # measured: 0.9 mm median, 3.3 mm at most
    assert np.array_equal(chunks["int8"].gripper_m, chunks["fp32"].gripper_m)
    int8_path = policies["int8"].onnx_path
    assert int8_path is not None and int8_path.name.endswith("_int8.onnx")
    assert int8_path.stat().st_size < 0.5 * policies["fp32"].onnx_path.stat().st_size


def test_int8_needs_the_onnx_runtime():
    with pytest.raises(ConfigError, match="int8 on runtime 'onnx'"):
        LearnedSkills(load_policy(None), runtime="torch", precision="int8")
