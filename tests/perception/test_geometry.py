"""Token geometry on known scenes: the yolo pipeline fed ground-truth masks must put objects where they are."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.perception.geometry import backproject, mask_points, principal_yaw, view_estimate
from hvla.perception.yolo import YoloConfig, YoloPerception

pytestmark = pytest.mark.render


def test_backprojection_of_the_table_lands_on_the_table(kitchen):
    _, obs = kitchen
    frame = obs.frames["scene"]
    pts = backproject(frame.depth_m, frame.info.K, frame.info.T_world_cam)
    table = (frame.segmentation < 0) & np.isfinite(pts[..., 2])
    z = pts[..., 2][table]
    # Most background pixels are the table top (z = 0); the robot and the sink stand above it.
    assert np.median(np.abs(z)) < 0.002


def test_principal_yaw_of_a_rotated_bar():
    rng = np.random.default_rng(0)
    yaw = 0.7
    local = np.column_stack([rng.uniform(-0.08, 0.08, 500), rng.uniform(-0.015, 0.015, 500)])
    c, s = np.cos(yaw), np.sin(yaw)
    got, ratio = principal_yaw(local @ np.array([[c, s], [-s, c]]))
    assert abs(got - yaw) < 0.03 and ratio > 3


def test_a_view_estimate_needs_points():
    assert view_estimate(np.zeros((3, 3)), np.array([1.0, 0.0, 1.0])) is None


def test_tokens_from_true_masks_match_the_truth(kitchen, gt_detector):
    _, obs = kitchen
    gt_detector.show(obs)
    perception = YoloPerception(YoloConfig(), detector=gt_detector)
    scene = perception.perceive(obs)
    assert obs.truth is not None
    errors = {}
    for obj in obs.truth.objects:
        tok = scene.find(obj.name)
        assert tok is not None, f"{obj.name} missing; tokens {[t.name for t in scene.tokens]}"
        assert tok.label == obj.label
        errors[obj.name] = float(np.linalg.norm(tok.position_m - obj.position_m))
    assert np.median(list(errors.values())) < 0.01, errors
    assert max(errors.values()) < 0.025, errors
    banana, truth = scene.find("banana"), obs.truth.object("banana")
    # A parallel grasp is symmetric under a half turn: compare headings modulo pi.
    d = (banana.yaw_rad - truth.yaw_rad + np.pi / 2) % np.pi - np.pi / 2
    assert abs(d) < np.deg2rad(10)
    assert banana.color_name == truth.color_name
    assert abs(banana.extent_m[2] - truth.extent_m[2]) < 0.015
    assert len(banana.feature) == 64 and abs(np.linalg.norm(banana.feature) - 1) < 1e-5


def test_dirt_patch_becomes_the_counter_region(kitchen, gt_detector):
    _, obs = kitchen
    gt_detector.show(obs)
    scene = YoloPerception(YoloConfig(), detector=gt_detector).perceive(obs)
    counter = scene.find("counter")
    assert counter is not None and counter.label == "dirt" and counter.category == "region"
    assert obs.truth is not None
    assert np.linalg.norm(counter.position_m[:2] - obs.truth.dirt_center_m[:2]) < 0.02
    assert np.allclose(counter.extent_m[:2], obs.truth.dirt_size_m, atol=0.03)


def test_mask_points_skip_pixels_without_depth(kitchen):
    _, obs = kitchen
    frame = obs.frames["scene"]
    mask = np.ones(frame.depth_m.shape, bool)
    depth = frame.depth_m.copy()
    depth[:, : depth.shape[1] // 2] = np.nan
    pts = mask_points(depth, mask, frame.info.K, frame.info.T_world_cam, erode=0)
    assert np.isfinite(pts).all() and len(pts) <= mask.size // 2
