"""`hvla data record-libero`: hvla's experts in LIBERO's sampled scenes, as a LeRobot v3 dataset.

One task (libero_object 0: pick the soup, put it in the basket) is recorded with both cameras by the CLI; the
dataset is read back by hvla's reader and by LeRobot 0.4.4's own `LeRobotDataset` (`.venv-lerobot`).
Needs the LIBERO venv (`make libero-venv`, run by `make test`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hvla.core.errors import DatasetError
from hvla.orchestration.libero_demos import LiberoRecordPlan
from hvla.sim.libero import LiberoServerConfig
from hvla.skills.data import schema
from hvla.skills.data.lerobot import load_dataset
from hvla.skills.data.record import RecordPlan

PYTHON, _ = LiberoServerConfig().resolve_python()
ROOT = Path(__file__).resolve().parents[2]
LEROBOT_PYTHON = ROOT / ".venv-lerobot" / "bin" / "python"
LOADER = ROOT / "tests" / "skills" / "lerobot_loader.py"
pytestmark = [pytest.mark.render, pytest.mark.timeout(600), pytest.mark.skipif(
    not PYTHON.is_file(), reason=f"LIBERO venv missing ({PYTHON}): run `make libero-venv`")]


def record(out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "hvla.orchestration.cli", "data", "record-libero", "--suites", "libero_object",
           "--tasks", "0", "--episodes-per-task", "1", "--first-seed", "5", "--workers", "1", "--out", str(out),
           *extra]
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=env, check=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("libero-demos") / "object"
    done = record(root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_every_step_of_the_plan_is_an_episode_of_the_task_in_a_sampled_scene(recorded):
    ds = load_dataset(recorded, ("frame_index", "observation.environment_state", "action"))
    assert ds.info["hvla"]["world"] == "libero"
    assert [e["hvla/skill"] for e in ds.episodes] == ["pick", "place"]
    for e in ds.episodes:
        assert e["hvla/instruction"] == "pick up the alphabet soup and place it in the basket"
        assert e["hvla/suite"] == "libero_object" and e["hvla/task_index"] == 0 and e["hvla/seed"] == 5
        assert e["hvla/official_distance_m"] > 0  # LIBERO's sampler drew it: none of the evaluation states
        assert "alphabet_soup_1" in e["hvla/objects"] and "basket_1" in e["hvla/objects"]
        assert e["length"] > 10
    assert ds.tasks == ["pick up the alphabet soup", "put it in the basket"]
    assert ds.columns["action"].shape[1] == schema.ACTION_DIM


def test_recording_again_adds_nothing_and_resume_refuses_a_kitchen_journal(recorded, tmp_path):
    before = load_dataset(recorded, ("frame_index",)).num_frames
    done = record(recorded)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 tasks recorded" in " ".join((done.stdout + done.stderr).split())
    assert load_dataset(recorded, ("frame_index",)).num_frames == before
    RecordPlan("pick", 1).save(tmp_path)
    with pytest.raises(DatasetError, match="kitchen recording"):
        LiberoRecordPlan.load(tmp_path)


@pytest.mark.skipif(not LEROBOT_PYTHON.exists(), reason="no LeRobot venv: `make lerobot-venv`")
def test_lerobot_loads_the_libero_dataset_with_both_cameras_and_its_tasks(recorded):
    loaded = subprocess.run([str(LEROBOT_PYTHON), str(LOADER), str(recorded), str(schema.CHUNK_K)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    report = json.loads(loaded.stdout.strip().splitlines()[-1])
    ds = load_dataset(recorded, ("frame_index",))
    assert (report["frames"], report["episodes"]) == (ds.num_frames, 2)
    assert report["camera_keys"] == ["observation.images.scene", "observation.images.wrist"]
    assert report["tasks"] == ds.tasks
    assert [k for k, kind in report["policy_features"].items() if kind == "ACTION"] == ["action"]
