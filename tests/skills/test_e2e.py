"""The end-to-end baseline: frames from dataset videos, a tiny training run, the policy on a real scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hvla.core.errors import CheckpointError, MessageError
from hvla.core.messages import ActionChunk, Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.data.disturb import OccludedCamerasRobot
from hvla.skills.data.lerobot import DatasetWriter, load_dataset
from hvla.skills.data.record import _write_videos
from hvla.skills.e2e.checkpoint import load_e2e
from hvla.skills.e2e.images import CAMERAS, dataset_images, stack_frames
from hvla.skills.e2e.instructions import HELD_OUT_TEMPLATES, TRAIN_TEMPLATES, phrasings
from hvla.skills.e2e.model import E2EConfig
from hvla.skills.e2e.policy import EndToEndSkills, instruction_of
from hvla.skills.e2e.train import E2ETrainConfig, ImageAugment, augment_images, train_e2e
from hvla.skills.policy.train import TrainConfig

SIZE = 16


def _dataset(root, episode_factory, lengths=(6, 9)):
    """Episodes whose frame t of episode i is a flat image of grey level 40 * i + 10 * t (scene; wrist inverted)."""
    writer = DatasetWriter(root, cameras=CAMERAS, image_hw=(32, 32))
    for i, n in enumerate(lengths):
        ep = episode_factory(f"v{i}", n, i, skill="pick_place" if i else "pick")
        if i:
            ep.meta["args"] = '{"object": "apple", "target": "bowl"}'
        level = [40 * i + 10 * t for t in range(n)]
        frames = {"scene": [np.full((32, 32, 3), v, np.uint8) for v in level],
                  "wrist": [np.full((32, 32, 3), 255 - v, np.uint8) for v in level]}
        ep.videos = _write_videos(frames, root.parent / "tmp" / ep.uid)
        writer.stage(ep)
    writer.finalise()
    return root


def test_dataset_frames_line_up_with_their_episodes_rows(tmp_path, episode_factory):
    ds = load_dataset(_dataset(tmp_path / "ds", episode_factory))
    images = dataset_images(ds, size=SIZE)
    assert images.shape == (15, 6, SIZE, SIZE) and images.dtype == np.uint8
    expected = np.r_[[10 * t for t in range(6)], [40 + 10 * t for t in range(9)]]
    assert np.abs(images[:, 0].mean(axis=(1, 2)) - expected).max() < 4  # mp4 is lossy, but not by much
    assert np.abs(images[:, 3].mean(axis=(1, 2)) - (255 - expected)).max() < 4


def test_a_dataset_without_the_cameras_is_refused_by_name(tmp_path, episode_factory):
    writer = DatasetWriter(tmp_path / "ds")
    writer.stage(episode_factory("a", 5))
    writer.finalise()
    with pytest.raises(Exception, match="no 'scene' video"):
        dataset_images(load_dataset(tmp_path / "ds"))


def test_a_tiny_training_run_drives_the_policy_on_a_real_kitchen(tmp_path, episode_factory):
    data = _dataset(tmp_path / "ds", episode_factory)
    cfg = E2ETrainConfig(base=TrainConfig(epochs=2, steps_per_epoch=2, batch_size=8, curriculum_epochs=0,
                                          warmup_steps=1, val_fraction=0.5, threads=1),
                         model=E2EConfig(image_size=SIZE))
    result = train_e2e([data], tmp_path / "run", cfg, progress=False)
    assert np.isfinite(result.best_val_loss) and (tmp_path / "run" / "metrics.csv").exists()
    loaded = load_e2e(result.checkpoint)
    assert loaded.meta["episodes"] == 2

    world = KitchenWorld(seed=1)
    obs = world.observe(CAMERAS)
    scene = OraclePerception().perceive(obs)
    policy = EndToEndSkills(loaded)
    policy.reset(scene, Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"},
                                instruction="put the banana in the bowl"))
    chunk = policy.act(scene, obs.proprio)
    assert isinstance(chunk, ActionChunk) and len(chunk) == 10 and (chunk.ee_targets[:, 2] >= 0.01).all()
    assert policy.instruction == "put the banana in the bowl"
    maps = policy.saliency()
    assert set(maps) == set(CAMERAS) and maps["scene"].shape == (SIZE, SIZE) and maps["wrist"].max() == 1.0
    world.close()

    # A checkpoint from another input layout or config is refused by name.
    payload = torch.load(result.checkpoint, weights_only=False)
    payload["layout"]["cameras"] = ["scene"]
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"another input layout.*cameras"):
        load_e2e(tmp_path / "other.pt")
    payload = torch.load(result.checkpoint, weights_only=False)
    payload["config"]["hidden"] = 7
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit config"):
        load_e2e(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="missing"):
        load_e2e(tmp_path / "nothing.pt")


def test_the_policy_hears_the_operators_words_else_a_phrasing_of_the_subgoal():
    given = Subgoal("s0", "pick", {"object": "apple"}, instruction="grab me that apple")
    assert instruction_of(given) == "grab me that apple"
    assert instruction_of(Subgoal("s0", "pick_place", {"object": "lemon", "target": "plate"})) == \
        "put the lemon on the plate"
    with pytest.raises(MessageError, match="knows skills"):
        instruction_of(Subgoal("s0", "pour", {"object": "cup"}))


def test_held_out_phrasings_are_never_training_phrasings():
    for skill in TRAIN_TEMPLATES:
        args = {"object": "banana", "target": "bowl"} if skill != "wipe" else {"tool": "sponge"}
        assert not set(phrasings(skill, args, held_out=True)) & set(phrasings(skill, args))
    assert set(HELD_OUT_TEMPLATES) == set(TRAIN_TEMPLATES)


def test_a_missing_camera_is_named():
    world = KitchenWorld(seed=2)
    obs = world.observe(("scene",))
    with pytest.raises(MessageError, match="wrist"):
        stack_frames(obs.frames)
    world.close()


def test_image_augmentation_keeps_shape_and_range_and_erases_with_grey():
    gen = torch.Generator().manual_seed(0)
    images = torch.full((4, 6, SIZE, SIZE), 200, dtype=torch.uint8)
    out = augment_images(images, ImageAugment(erase_p=1.0, brightness=0.0, contrast=0.0, erase_side=(0.25, 0.4)), gen)
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
    assert ((out - 0.5).abs() < 1e-6).any() and ((out - 200 / 255).abs() < 1e-6).any()


def test_camera_occlusion_covers_part_of_the_image_near_the_lens():
    world = KitchenWorld(seed=3)
    clean = world.observe(CAMERAS)
    robot = OccludedCamerasRobot(world, p=1.0, cover=(0.3, 0.5), seed=0)
    seen = robot.observe(CAMERAS)
    for cam in CAMERAS:
        changed = (seen.frames[cam].rgb != clean.frames[cam].rgb).any(axis=2)
        share = changed.mean()
        assert 0.05 < share < 0.3
        assert np.allclose(seen.frames[cam].depth_m[changed], OccludedCamerasRobot.NEAR_M)
    assert robot.control_dt_s == world.control_dt_s
    world.close()


def test_the_committed_end_to_end_policy_is_registered_and_acts_on_a_real_kitchen():
    from hvla.skills.base import SKILL_POLICIES

    world = KitchenWorld(seed=5)
    obs = world.observe(CAMERAS)
    scene = OraclePerception().perceive(obs)
    policy = SKILL_POLICIES.build("e2e")
    assert policy.cameras == CAMERAS and policy.model.config.image_size == 64
    policy.reset(scene, Subgoal("s0", "pick", {"object": "apple"}))
    chunk = policy.act(scene, obs.proprio)
    # Near the hand: a chunk is one second of motion, not a jump across the table.
    assert np.linalg.norm(chunk.ee_targets[0, :3] - obs.proprio.ee_position_m) < 0.1
    world.close()
