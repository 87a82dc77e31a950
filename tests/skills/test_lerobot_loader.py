"""hvla's datasets as LeRobot users load them: LeRobot 0.4.4's own `LeRobotDataset`, in `.venv-lerobot`.

Two short pick episodes with both cameras are recorded by `hvla data record`; `lerobot_loader.py`
loads them in LeRobot's venv (which `make test` builds with `make lerobot-venv`) and reports what it
read; each test compares one part of that report with what hvla recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hvla.skills.data import schema
from hvla.skills.data.lerobot import load_dataset
from hvla.skills.data.lerobot.stats import STAT_KEYS

LEROBOT_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lerobot" / "bin" / "python"
LOADER = Path(__file__).with_name("lerobot_loader.py")
CAMERAS = ("observation.images.scene", "observation.images.wrist")

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(not LEROBOT_PYTHON.exists(), reason=f"no LeRobot venv at {LEROBOT_PYTHON.parent.parent}: "
                       "`make lerobot-venv` installs LeRobot 0.4.4 there (`make test` does it first)"),
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, dict]:
    """(dataset root, LeRobot's report on it)."""
    root = tmp_path_factory.mktemp("lerobot") / "pick"
    record = [sys.executable, "-m", "hvla.orchestration.cli", "data", "record", "--skill", "pick", "--episodes", "2",
              "--first-seed", "1000", "--lead-in", "0", "--workers", "1", "--cameras", "scene,wrist",
              "--out", str(root)]
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    done = subprocess.run(record, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = subprocess.run([str(LEROBOT_PYTHON), str(LOADER), str(root), str(schema.CHUNK_K)], capture_output=True,
                            text=True, timeout=300, check=False)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    return root, json.loads(loaded.stdout.strip().splitlines()[-1])


def test_lerobot_counts_every_frame_and_episode_hvla_recorded(recorded):
    root, report = recorded
    ds = load_dataset(root, ("frame_index",))
    assert (report["frames"], report["episodes"], report["fps"]) == (ds.num_frames, 2, schema.FPS)
    assert ds.num_frames > 40  # two real episodes, not a stub


def test_lerobot_decodes_both_cameras_at_their_recorded_size_in_every_episode(recorded):
    _, report = recorded
    assert report["camera_keys"] == list(CAMERAS)
    assert len(report["items"]) == 4  # the first and last frame of both episodes
    for item in report["items"].values():
        for camera in CAMERAS:
            assert item[camera] == [[3, 128, 128], "torch.float32"]
        lo, hi = item["image_range"]
        assert 0.0 <= lo < hi <= 1.0


def test_lerobot_tasks_are_instructions_in_words(recorded):
    root, report = recorded
    assert report["tasks"] == load_dataset(root, ("frame_index",)).tasks
    assert all(t.startswith("pick up the ") and "(" not in t for t in report["tasks"]), report["tasks"]
    assert {item["task"] for item in report["items"].values()} == set(report["tasks"])


def test_lerobots_action_is_the_commanded_target_of_each_frame(recorded):
    root, report = recorded
    features = report["features"]
    assert features["action"] == {"dtype": "float32", "shape": [schema.ACTION_DIM], "names": list(schema.ACTION_NAMES)}
    assert features["label.chunk"]["shape"] == [schema.CHUNK_DIM]  # hvla's K-step labels, beside it
    assert all(item["action"] == [[schema.ACTION_DIM], "torch.float32"] for item in report["items"].values())
    ds = load_dataset(root, ("action", "executed.chunk"))
    np.testing.assert_array_equal(ds.columns["action"], ds.columns["executed.chunk"][:, : schema.ACTION_DIM])


def test_a_lerobot_policy_sees_one_action_output_not_hvlas_chunks(recorded):
    _, report = recorded
    kinds = report["policy_features"]
    assert [k for k, kind in kinds.items() if kind == "ACTION"] == ["action"]
    assert "label.chunk" not in kinds and "executed.chunk" not in kinds  # extras, as LeRobot's own `next.done`
    assert kinds["observation.state"] == "STATE" and kinds["observation.environment_state"] == "ENV"
    assert kinds["observation.images.scene"] == kinds["observation.images.wrist"] == "VISUAL"


def test_lerobots_delta_timestamps_chunk_the_per_frame_actions(recorded):
    _, report = recorded
    start, near_end = report["delta_timestamps"].values()
    k = schema.CHUNK_K
    assert start == {"action": [k, schema.ACTION_DIM], "image": [2, 3, 128, 128], "matches_frames": True,
                     "pad": [False] * k}
    assert near_end["matches_frames"] and near_end["pad"] == [False] * 3 + [True] * (k - 3)  # past the episode's end


def test_stats_lerobot_recomputes_from_the_data_equal_the_stored_ones(recorded):
    _, report = recorded
    expected = {k for k, f in report["features"].items() if f["dtype"] != "string"}
    assert set(report["stats_keys"]) == expected
    assert all(keys == sorted(STAT_KEYS) for keys in report["stats_keys"].values())
    for feature, gaps in report["stats_gaps"].items():
        tolerance = 2 / 255 if feature in CAMERAS else 1e-6  # another decoder may round a pixel the other way
        assert max(gaps.values()) <= tolerance, (feature, gaps)
