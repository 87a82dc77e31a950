"""Teleoperation: keys drive the hand through the controllers, and the episode becomes training data."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.errors import ConfigError
from hvla.orchestration.teleop.episode import TeleopEpisode, teleop_subgoal, terminal_keys
from hvla.orchestration.teleop.keys import future_chunks, parse_keys
from hvla.perception.oracle import OraclePerception
from hvla.skills.data.lerobot import load_dataset
from hvla.skills.data.quality import QualityFilter
from hvla.skills.policy.samples import load_training_set
from hvla.skills.policy.text import TextTable


def keys_to_pick(episode: TeleopEpisode, name: str) -> list[str]:
    """What an operator would type: over the object, down, close, up."""
    obs = episode.world.observe(())
    d = np.asarray(OraclePerception().perceive(obs).find(name).position_m) - obs.proprio.T_world_ee[:3, 3]
    keys = ["w" if d[0] > 0 else "s"] * round(abs(d[0]) / 0.01) + ["a" if d[1] > 0 else "d"] * round(abs(d[1]) / 0.01)
    keys += ["."] * 5 + ["f"] * round(abs(d[2]) / 0.01) + ["."] * 5 + ["g"] + ["."] * 8 + ["r"] * 20 + ["."] * 10
    return keys


def test_a_teleoperated_pick_is_recorded_as_a_successful_episode_with_hindsight_chunks(tmp_path):
    episode = TeleopEpisode(1001, teleop_subgoal("pick", {"object": "apple"}))
    ticks = []
    result = episode.run(iter(keys_to_pick(episode, "apple")), tmp_path / "data", on_tick=lambda: ticks.append(1))
    assert result["success"] and result["reason"] is None and result["frames"] == len(ticks)
    ds = load_dataset(tmp_path / "data", ("action", "label.chunk", "executed.chunk"))
    meta = ds.episodes[0]
    assert meta["hvla/source"] == "teleop" and meta["hvla/label_horizon"] == "ahead" and meta["hvla/success"]
    label = ds.columns["label.chunk"].reshape(-1, 10, 8)
    executed = ds.columns["executed.chunk"].reshape(-1, 10, 8)
    assert np.allclose(label[:-3, 3], executed[3:, 0])  # waypoint k of tick t is the command of tick t + k
    np.testing.assert_array_equal(ds.columns["action"], executed[:, 0])  # the frame's own: its command
    assert (label[:, :, 7].min(), label[:, :, 7].max()) == (0.0, pytest.approx(0.08))  # it closed on the apple
    ts = load_training_set([tmp_path / "data"], TextTable(), QualityFilter(success_only=True))
    assert ts.num_frames == result["frames"] and ts.ep_skill_name == ["pick"]


def test_an_operator_who_stops_early_leaves_a_failed_episode_flagged_not_dropped(tmp_path):
    episode = TeleopEpisode(1002, teleop_subgoal("pick", {"object": "banana"}))
    result = episode.run(iter("wwwwff"), tmp_path / "data")
    assert not result["success"] and "operator ended the episode" in result["reason"] and result["frames"] == 6
    ds = load_dataset(tmp_path / "data", ("action",))
    assert ds.episodes[0]["hvla/success"] is False


def test_keys_lines_and_bad_input():
    assert parse_keys("ww a .G") == ["w", "w", "a", ".", "g"]
    with pytest.raises(ConfigError, match=r"unknown teleop keys \['z'\]"):
        parse_keys("wz")
    lines = iter(["wa", "", "oops", "g", "x", "w"])
    assert list(terminal_keys(lambda: "status", lambda prompt: next(lines))) == ["w", "a", ".", "g"]
    with pytest.raises(ConfigError, match="needs target"):
        teleop_subgoal("pick_place", {"object": "apple"})
    with pytest.raises(ConfigError, match="held out"):
        teleop_subgoal("pick", {"object": "mango"})


def test_future_chunks_repeat_the_last_command_at_the_end():
    first = np.arange(4, dtype=np.float32)[:, None] * np.ones((1, 8), np.float32)
    executed = np.repeat(first[:, None], 10, axis=1).reshape(4, -1)
    out = future_chunks(executed).reshape(4, 10, 8)
    assert out[0, :4, 0].tolist() == [0, 1, 2, 3] and out[0, 9, 0] == 3 and (out[3, :, 0] == 3).all()
