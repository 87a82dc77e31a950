"""Bad input: missing or corrupt weights name the path and the command; bad frames give flagged scenes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hvla.core.errors import CheckpointError
from hvla.core.messages import CameraFrame, Observation
from hvla.perception.yolo import MAKE_COMMAND, YoloConfig, YoloPerception


def _with_frames(obs: Observation, **edit) -> Observation:
    frames = {}
    for cam, f in obs.frames.items():
        rgb = edit.get("rgb", lambda x: x)(f.rgb)
        frames[cam] = CameraFrame(f.info, rgb, edit.get("depth", lambda x: x)(f.depth_m), f.segmentation)
    return dataclasses.replace(obs, frames=frames)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_missing_weights_name_the_path_and_the_command(tmp_path: Path, runtime: str):
    path = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError) as err:
        YoloPerception(YoloConfig(weights=path, runtime=runtime))
    assert str(path) in str(err.value) and MAKE_COMMAND in str(err.value)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_corrupt_weights_name_the_path_and_the_command(tmp_path: Path, runtime: str):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"\x00not a checkpoint" * 100)
    with pytest.raises(CheckpointError) as err:
        YoloPerception(YoloConfig(weights=path, runtime=runtime))
    assert str(path) in str(err.value) and MAKE_COMMAND in str(err.value)


@pytest.mark.render
@pytest.mark.parametrize(
    "edit, flag",
    [
        ({"depth": lambda d: np.full_like(d, np.nan)}, "invalid_depth"),
        ({"depth": lambda d: np.zeros_like(d)}, "invalid_depth"),
        ({"rgb": lambda x: np.zeros_like(x)}, "blank_rgb"),
        ({"rgb": lambda x: np.full_like(x, 255)}, "blank_rgb"),
    ],
    ids=["nan-depth", "zero-depth", "black", "white"],
)
def test_a_bad_frame_gives_a_flagged_empty_scene(kitchen, gt_detector, edit, flag):
    _, obs = kitchen
    bad = _with_frames(obs, **edit)
    gt_detector.show(bad)
    scene = YoloPerception(YoloConfig(), detector=gt_detector).perceive(bad)
    assert scene.tokens == ()
    assert f"{flag}:scene" in scene.flags and f"{flag}:wrist" in scene.flags


@pytest.mark.render
def test_holes_in_depth_under_a_mask_drop_that_object_only(kitchen, gt_detector):
    _, obs = kitchen
    assert obs.truth is not None
    index = [o.name for o in obs.truth.objects].index("banana")

    def hole(depth, frame_seg):
        d = depth.copy()
        d[frame_seg == index] = np.nan
        return d

    frames = {cam: CameraFrame(f.info, f.rgb, hole(f.depth_m, f.segmentation), f.segmentation)
              for cam, f in obs.frames.items()}
    bad = dataclasses.replace(obs, frames=frames)
    gt_detector.show(bad)
    scene = YoloPerception(YoloConfig(), detector=gt_detector).perceive(bad)
    assert scene.find("banana") is None  # no depth, no invented position
    assert scene.find("bowl") is not None
    assert any(f.startswith("no_depth:banana") for f in scene.flags)


def test_an_observation_without_cameras_is_flagged(gt_detector):
    from hvla.core.messages import Proprio

    proprio = Proprio(np.zeros(7), np.zeros(7), 0.08, np.eye(4))
    scene = YoloPerception(YoloConfig(), detector=gt_detector).perceive(Observation(0.0, proprio))
    assert scene.tokens == () and "missing_camera:scene" in scene.flags
