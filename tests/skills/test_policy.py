import numpy as np
import pytest
import torch

from hvla.core.errors import CheckpointError
from hvla.core.messages import ActionChunk, Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.data.lerobot import DatasetWriter
from hvla.skills.policy.checkpoint import load_policy
from hvla.skills.policy.learned import LearnedSkills
from hvla.skills.policy.train import TrainConfig, train_policy


def _dataset(root, factory):
    writer = DatasetWriter(root)
    for i in range(6):
        writer.stage(factory(f"e{i}", 15, i, skill="pick" if i % 2 else "pick_place"))
    writer.finalise()
    return root


def test_a_tiny_training_run_writes_a_loadable_checkpoint_with_metrics(tmp_path, episode_factory):
    data = _dataset(tmp_path / "data", episode_factory)
    cfg = TrainConfig(epochs=2, steps_per_epoch=3, batch_size=16, curriculum_epochs=1, warmup_steps=2,
                      val_fraction=0.3, threads=1)
    result = train_policy([data], tmp_path / "run", cfg, progress=False)
    assert result.checkpoint.exists() and (tmp_path / "run" / "metrics.csv").exists()
    assert np.isfinite(result.best_val_loss)
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,step,lr") and len(lines) == 3
    loaded = load_policy(result.checkpoint)
    assert len(loaded.meta["dataset_hash"]) == 16 and loaded.meta["train_config"]["epochs"] == 2

    # The trained network drives the LearnedSkills interface on a real kitchen scene.
    world = KitchenWorld(seed=1)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    policy = LearnedSkills(loaded)
    policy.reset(scene, Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"}))
    chunk = policy.act(scene, obs.proprio)
    assert isinstance(chunk, ActionChunk) and len(chunk) == 10 and (chunk.ee_targets[:, 2] >= 0.01).all()
    attention = policy.attention()
    assert len(attention["layers"]) == loaded.model.config.n_layers
    assert attention["tokens"][3:5] == ["object:banana", "target:bowl"]
    _, S, _ = attention["layers"][0].shape
    assert len(attention["tokens"]) == S and np.allclose(attention["layers"][0].sum(-1), 1.0, atol=1e-5)

    # A checkpoint from another configuration is refused with a clear error.
    payload = torch.load(result.checkpoint, weights_only=False)
    payload["layout"]["n_slots"] = 99
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"another input layout.*n_slots"):
        load_policy(tmp_path / "other.pt")
    payload = torch.load(result.checkpoint, weights_only=False)
    payload["config"]["d_model"] = 32
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit config"):
        load_policy(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="missing"):
        load_policy(tmp_path / "nothing.pt")


def test_the_curriculum_starts_from_the_cleanest_scenes_a_dataset_has(tmp_path, episode_factory):
    writer = DatasetWriter(tmp_path / "data")
    for i in range(4):
        ep = episode_factory(f"c{i}", 12, i)
        ep.meta["n_distractors"] = 2 + i % 2  # no scene without distractors
        writer.stage(ep)
    writer.finalise()
    for curriculum in (0, 3):
        cfg = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=4, curriculum_epochs=curriculum, val_fraction=0.0,
                          threads=1)
        result = train_policy([tmp_path / "data"], tmp_path / f"run{curriculum}", cfg, progress=False)
        assert result.checkpoint.exists()


def test_learned_is_a_registered_skill_policy_built_from_a_given_checkpoint(tmp_path, episode_factory):
    assert "learned" in SKILL_POLICIES.names()
    data = _dataset(tmp_path / "data", episode_factory)
    cfg = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=4, curriculum_epochs=0, val_fraction=0.0, threads=1)
    result = train_policy([data], tmp_path / "run", cfg, progress=False)
    assert isinstance(SKILL_POLICIES.build("learned", policy=load_policy(result.checkpoint)), LearnedSkills)


def _committed_policy_on(seed: int, subgoal: Subgoal):
    obs = KitchenWorld(seed=seed).observe(())
    scene = OraclePerception().perceive(obs)
    policy = LearnedSkills(load_policy(None))
    policy.reset(scene, subgoal)
    return scene, policy, obs


def test_a_briefly_missed_token_stays_present_then_is_flagged_absent_at_its_last_place():
    from hvla.core.messages import Scene

    scene, policy, obs = _committed_policy_on(3, Subgoal("s0", "pick", {"object": "banana"}))
    slot = policy.slots.names.index("banana")
    seen = scene.find("banana").position_m
    policy.act(scene, obs.proprio)
    without = Scene(tuple(t for t in scene.tokens if t.name != "banana"), scene.observation, scene.flags)
    flags = []
    for _ in range(policy.hold_frames + 2):
        policy.act(without, obs.proprio)
        tokens = policy._history[0][0]
        flags.append(float(tokens[slot, 0]))
        assert np.allclose(tokens[slot, 1:4], seen, atol=1e-5)
    assert flags == [1.0] * policy.hold_frames + [0.0, 0.0]
    policy.act(scene, obs.proprio)
    assert policy._history[0][0][slot, 0] == 1.0


def test_an_object_missed_at_the_start_takes_its_start_from_its_first_sighting():
    from hvla.core.messages import Scene

    obs = KitchenWorld(seed=3).observe(())
    scene = OraclePerception().perceive(obs)
    without = Scene(tuple(t for t in scene.tokens if t.name != "bowl"), scene.observation, scene.flags)
    policy = LearnedSkills(load_policy(None))
    policy.reset(without, Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"}))
    policy.act(without, obs.proprio)
    assert "bowl" not in policy.slots.names
    policy.act(scene, obs.proprio)
    slot = policy.slots.names.index("bowl")
    assert policy.init[slot, 0] == 1.0 and np.allclose(policy.init[slot, 1:4], scene.find("bowl").position_m)


@pytest.mark.parametrize("seed", [3, 11])
def test_the_committed_policy_heads_for_the_object_it_is_told_to_pick(seed):
    """The artefact, not a fresh net: its first chunk closes most of the distance to the named object."""
    for name in ("banana", "apple"):
        scene, policy, obs = _committed_policy_on(seed, Subgoal("s0", "pick", {"object": name}))
        if scene.find(name) is None:
            continue
        target = scene.find(name).position_m[:2]
        start = np.linalg.norm(obs.proprio.ee_position_m[:2] - target)
        chunk = policy.act(scene, obs.proprio)
        end = np.linalg.norm(chunk.ee_targets[-1, :2] - target)
        assert end < 0.8 * start, f"{name}: {start:.3f} m -> {end:.3f} m"
        assert (chunk.gripper_m > 0.04).all()  # still open on the way


@pytest.mark.slow
def test_the_committed_policy_picks_a_fruit_in_a_held_out_kitchen():
    from hvla.orchestration.evaluation import SkillCase
    from hvla.orchestration.rollouts import PolicySpec, RolloutJob, run_rollout
    from hvla.skills.data.disturb import Disturbance
    from hvla.skills.data.record import SubgoalSpec

    case = SkillCase("pick", (("object", "apple"),))
    job = RolloutJob("pick(apple)", 10_007, (SubgoalSpec.of("s0", "pick", object="apple"),), case.scene(),
                     PolicySpec.learned(), Disturbance())
    result = run_rollout(job)
    assert result.success, result.reason


def test_perceived_episodes_weigh_more_and_split_with_their_oracle_twin(tmp_path, episode_factory):
    from hvla.skills.policy.samples import load_training_set
    from hvla.skills.policy.text import TextTable, default_vocabulary
    from hvla.skills.policy.train import split_episodes

    writer = DatasetWriter(tmp_path / "ds")
    for i in range(12):
        writer.stage(episode_factory(f"pick-s{i}", 8, i))
        twin = episode_factory(f"pick-s{i}-perceived", 8, i)
        twin.meta["tokens"] = "perceived"
        writer.stage(twin)
    writer.finalise()
    ts = load_training_set([tmp_path / "ds"], TextTable.build(default_vocabulary()), perceived_boost=2.0)
    w = dict(zip(ts.ep_uid, ts.ep_weight.tolist()))
    assert all(w[f"pick-s{i}-perceived"] == pytest.approx(2 * w[f"pick-s{i}"]) for i in range(12))
    train, val = split_episodes(ts, 0.3)
    side = dict(zip(ts.ep_uid, val.tolist()))
    assert val.any() and train.any()
    assert all(side[f"pick-s{i}"] == side[f"pick-s{i}-perceived"] for i in range(12))


def test_the_demonstration_cap_leaves_dagger_roll_outs_in(tmp_path, episode_factory):
    from hvla.skills.policy.samples import load_training_set
    from hvla.skills.policy.text import TextTable, default_vocabulary

    writer = DatasetWriter(tmp_path / "ds")
    for i in range(6):
        writer.stage(episode_factory(f"pick-s{i}", 8, i))
        rollout = episode_factory(f"dagger1-pick-s{i}", 8, 100 + i)
        rollout.meta["source"] = "dagger1"
        writer.stage(rollout)
    writer.finalise()
    ts = load_training_set([tmp_path / "ds"], TextTable.build(default_vocabulary()), max_episodes_per_skill=2,
                           dagger_boost=3.0)
    kept = {uid: w for uid, w in zip(ts.ep_uid, ts.ep_weight.tolist()) if w > 0}
    assert sum(not uid.startswith("dagger") for uid in kept) == 2
    assert sum(uid.startswith("dagger") for uid in kept) == 6


def test_a_hand_stuck_in_place_weighs_a_few_frames_not_its_length():
    from types import SimpleNamespace

    from hvla.skills.policy.train import still_weights

    # Episode 0: moves 1 cm a step for 20 frames, then sits still 100 frames; episode 1: moves throughout.
    x0 = np.r_[np.arange(20) * 0.01, np.full(100, 0.19)]
    x1 = np.arange(50) * 0.01
    state = np.zeros((170, 8), np.float32)
    state[:, 0] = np.r_[x0, x1]
    state[:, 7] = 0.08
    ts = SimpleNamespace(frame=torch.from_numpy(np.r_[np.arange(120), np.arange(50)]), state=torch.from_numpy(state))
    w = still_weights(ts, cap_frames=10)
    assert w[120:].tolist() == [1.0] * 50  # a moving hand keeps full weight
    assert w[:20].tolist() == [1.0] * 20
    assert 10 <= w[20:120].sum() <= 20  # the first second of stillness is not yet "still", then 10 frames' worth
    # Closing the fingers is motion: a still hand with moving fingers is not stuck.
    state[20:120, 7] = np.linspace(0.08, 0.0, 100)
    assert still_weights(ts, cap_frames=10)[:120].min() == 1.0
