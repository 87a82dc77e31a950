"""Fit the per-(class, camera) geometry corrections on training renders (see geometry.py).

    hvla perception calibrate        (part of `... all`)

Masks come from the trained detector (so the corrections absorb its mask habits, e.g. slightly
rounded edges), matched to ground-truth objects by mask IoU; with `detector=None` the ground-truth
masks are used. Seeds come from the train split: the test split stays unseen.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from hvla.perception.color import robust_rgb
from hvla.perception.dataset import SPLIT_FIRST_SEED, DatasetConfig, LabelledFrame, labelled_frames
from hvla.perception.detector import Detection
from hvla.perception.geometry import (
    GeometryCalibration,
    ViewEstimate,
    fit_corrections,
    mask_points,
    occluded,
    touches_border,
    view_estimate,
)
from hvla.perception.novelty import fit_novelty


def match(instances: tuple, dets: list[Detection], min_iou: float = 0.5) -> list[tuple[str, Detection]]:
    """(object name, detection) pairs of the same class with mask IoU >= `min_iou` (greedy by IoU)."""
    pairs = []
    for label, name, mask in instances:
        for d in dets:
            if d.label != label:
                continue
            inter = np.logical_and(mask, d.mask).sum()
            iou = inter / max(np.logical_or(mask, d.mask).sum(), 1)
            if iou >= min_iou:
                pairs.append((iou, name, d))
    pairs.sort(key=lambda p: -p[0])
    used_n, used_d, out = set(), set(), []
    for _, name, d in pairs:
        if name not in used_n and id(d) not in used_d:
            used_n.add(name)
            used_d.add(id(d))
            out.append((name, d))
    return out


def samples(
    n_scenes: int, detector=None, first_seed: int = SPLIT_FIRST_SEED["train"]
) -> Iterator[tuple[str, str, ViewEstimate, np.ndarray, np.ndarray, np.ndarray, str]]:
    """(label, camera, view estimate, true centre, true extent, observed rgb, true colour name) for every
    matched object view."""
    config = DatasetConfig(views_per_scene=3)
    for seed in range(first_seed, first_seed + n_scenes):
        frames: list[LabelledFrame] = list(labelled_frames(seed, "train", config))
        dets_all = detector([lf.frame.rgb for lf in frames]) if detector is not None else [None] * len(frames)
        for lf, dets in zip(frames, dets_all):
            objects = {o.name: o for o in lf.objects}
            if dets is None:
                pairs = [(name, mask) for label, name, mask in lf.instances if label != "dirt"]
            else:
                pairs = [(name, d.mask) for name, d in match(lf.instances, dets) if d.label != "dirt"]
            info = lf.frame.info
            for name, mask in pairs:
                obj = objects[name]
                pts = mask_points(lf.frame.depth_m, mask, info.K, info.T_world_cam)
                est = view_estimate(pts, info.T_world_cam[:3, 3], touches_border(mask),
                                    occluded(lf.frame.depth_m, mask))
                if est is not None:
                    rgb = robust_rgb(lf.frame.rgb, mask)
                    yield obj.label, info.name, est, obj.position_m, obj.extent_m, rgb, obj.color_name


def calibrate(n_scenes: int = 150, detector=None) -> GeometryCalibration:
    """3D corrections and the novelty model, fitted on the same training views."""
    rows = list(samples(n_scenes, detector))
    cal = fit_corrections(rows)
    full = [(label, cam, color, rgb, est) for label, cam, est, _, _, rgb, color in rows if not est.partial]
    cal.novelty = fit_novelty(full).to_json()
    return cal
