"""Segment-anything refinement, exercised with a tiny randomly initialised SAM (no download)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from hvla.core.errors import CheckpointError
from hvla.perception.detector import Detection, guard_torch_import
from hvla.perception.sam import SamRefiner
from hvla.perception.yolo import YoloConfig, YoloPerception


def tiny_sam():
    """SAM assembled from segment_anything's own modules at toy size (64 px input, 32-d embeddings)."""
    guard_torch_import()  # other tests in this process have rendered with Mesa
    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    torch.set_num_threads(1)  # a toy model: more threads only add contention on a shared machine
    dim, size, patch = 32, 64, 16
    encoder = ImageEncoderViT(img_size=size, patch_size=patch, embed_dim=dim, depth=1, num_heads=2, mlp_ratio=2.0,
                              out_chans=dim, use_rel_pos=False, window_size=0, global_attn_indexes=())
    prompt = PromptEncoder(embed_dim=dim, image_embedding_size=(size // patch, size // patch),
                           input_image_size=(size, size), mask_in_chans=4)
    decoder = MaskDecoder(num_multimask_outputs=3, transformer=TwoWayTransformer(depth=1, embedding_dim=dim,
                          mlp_dim=64, num_heads=2), transformer_dim=dim, iou_head_depth=1, iou_head_hidden_dim=16)
    return Sam(encoder, prompt, decoder)


def _det(mask: np.ndarray) -> Detection:
    vs, us = np.nonzero(mask)
    return Detection(0, "banana", 0.9, np.array([us.min(), vs.min(), us.max() + 1, vs.max() + 1], float), mask,
                     np.zeros(32, np.float32), np.zeros(32, np.float32), np.zeros(9, np.float32))


def test_refiner_returns_one_full_size_mask_per_detection():
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[30:60, 20:70] = (240, 220, 40)
    mask = np.zeros((96, 96), bool)
    mask[30:60, 20:70] = True
    refiner = SamRefiner(tiny_sam(), min_iou=0.0)  # an untrained SAM agrees with nothing: accept its masks
    out = refiner.refine(rgb, [_det(mask), _det(mask)])
    assert len(out) == 2
    assert all(d.mask.shape == (96, 96) and d.mask.dtype == bool for d in out)
    assert out[0].label == "banana" and np.array_equal(out[0].box_xyxy, _det(mask).box_xyxy)


def test_refiner_keeps_the_yolo_mask_when_sam_disagrees():
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:20, 10:20] = True
    (out,) = SamRefiner(tiny_sam(), min_iou=1.01).refine(rgb, [_det(mask)])
    assert np.array_equal(out.mask, mask)


def test_missing_sam_checkpoint_is_a_checkpoint_error(tmp_path: Path):
    with pytest.raises(CheckpointError, match=r"sam_missing\.pth"):
        SamRefiner.from_checkpoint(tmp_path / "sam_missing.pth")


@pytest.mark.render
def test_pipeline_runs_with_a_refiner(kitchen, gt_detector):
    _, obs = kitchen
    gt_detector.show(obs)
    perception = YoloPerception(YoloConfig(), detector=gt_detector, refiner=SamRefiner(tiny_sam()))
    scene = perception.perceive(obs)
    assert scene.find("banana") is not None


def test_without_a_checkpoint_a_log_line_says_refinement_is_off(gt_detector, caplog):
    with caplog.at_level(logging.INFO, logger="hvla.perception.yolo"):
        YoloPerception(YoloConfig(sam_checkpoint=None), detector=gt_detector)
    assert any("segment-anything refinement off" in r.message for r in caplog.records)
