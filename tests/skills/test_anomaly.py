"""The anomaly detector: fitted on normal frames, it scores them under the limit and unusual ones over it."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.errors import CheckpointError
from hvla.core.messages import Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.data.lerobot import DatasetWriter
from hvla.skills.data.quality import QualityFilter
from hvla.skills.policy.anomaly import embeddings, fit_detector, load_detector
from hvla.skills.policy.checkpoint import load_policy, save_policy
from hvla.skills.policy.learned import LearnedSkills
from hvla.skills.policy.samples import load_training_set
from hvla.skills.policy.train import split_episodes


@pytest.fixture
def fitted(tmp_path, episode_factory):
    """The committed policy (saved under a new path) and a detector fitted on synthetic normal episodes."""
    root = tmp_path
    writer = DatasetWriter(root / "data")
    rng = np.random.default_rng(0)
    for i in range(24):
        episode = episode_factory(f"e{i}", 40, i, skill="pick")
        state = episode.columns["observation.state"]  # a narrow normal: the closed hand low in one corner
        state[:, :3] = np.array([0.25, 0.45, 0.12]) + rng.normal(scale=0.01, size=(len(state), 3))
        state[:, 7:] = rng.normal(scale=0.01, size=(len(state), state.shape[1] - 7))
        writer.stage(episode)
    writer.finalise()
    committed = load_policy(None)
    save_policy(root / "policy.pt", committed.model, committed.text, committed.meta)
    policy = load_policy(root / "policy.pt")
    ts = load_training_set([root / "data"], policy.text, QualityFilter(success_only=True))
    policy.model.text_table = policy.text.tensor()
    fit, val = split_episodes(ts, 0.25)
    detector, report = fit_detector(policy, ts, fit, val, quantile=0.95, min_frames=100)
    detector.save(root / "anomaly.npz")
    return root, policy, ts, fit, val, detector, report


def test_held_out_normal_frames_score_under_the_limit_at_the_quantile(fitted):
    _, policy, ts, _, val, detector, report = fitted
    rows = ts.subset_episodes(val)
    scores = np.array([detector.score("pick", e) for e in embeddings(policy, ts, rows)])
    assert np.mean(scores <= 1.0) == pytest.approx(0.95, abs=0.01)
    assert report["pick"]["val_frames"] == len(rows) and report["pick"]["limit"] > 0
    assert detector.score("wipe", np.zeros(128)) is None  # no model of a skill it never saw


def test_a_real_kitchen_is_unlike_synthetic_training_frames(fitted):
    # Fitted on a closed hand low in a corner, the detector flags the open hand at home as unusual.
    root, policy, *_ = fitted
    detector = load_detector(root / "anomaly.npz")
    world = KitchenWorld(seed=3)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    skills = LearnedSkills(policy, detector=detector)
    skills.reset(scene, Subgoal("s0", "pick", {"object": "banana"}))
    assert skills.anomaly is None
    skills.act(scene, obs.proprio)
    assert skills.anomaly is not None and skills.anomaly > 1.0


def test_a_detector_refuses_another_policy_and_a_damaged_file(fitted, tmp_path_factory):
    root, _, _, _, _, detector, _ = fitted
    tmp_path = tmp_path_factory.mktemp("damaged")
    with pytest.raises(CheckpointError, match="anomaly detector fitted for policy"):
        LearnedSkills(load_policy(None), detector=detector)
    damaged = tmp_path / "anomaly.npz"
    damaged.write_bytes((root / "anomaly.npz").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="unreadable anomaly detector"):
        load_detector(damaged)
    with pytest.raises(CheckpointError, match="missing anomaly detector"):
        load_detector(tmp_path / "none.npz")
