"""Fixtures for perception tests: rendered kitchens and a detector that returns ground-truth masks.

The ground-truth detector lets the geometry, fusion, tracking and bad-input tests run the real
`YoloPerception` pipeline without trained weights; one test uses the committed weights when present.
"""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.messages import Observation
from hvla.perception.dataset import DIRT, dirt_mask
from hvla.perception.detector import Detection, Timings
from hvla.sim.world import KitchenWorld, SimConfig


class GtDetector:
    """Detections from the renderer's segmentation of the observation given to `show`."""

    names = ("banana", "apple", "lemon", "sponge", "block", "bowl", "cup", "plate", "dirt")

    def __init__(self) -> None:
        self.obs: Observation | None = None
        self.timings = Timings()
        self.hide: set[str] = set()  # object names to leave out (a simulated occlusion)

    def show(self, obs: Observation) -> None:
        self.obs = obs

    def __call__(self, rgbs: list[np.ndarray]) -> list[list[Detection]]:
        assert self.obs is not None and self.obs.truth is not None
        out = []
        for rgb in rgbs:
            frame = next(f for f in self.obs.frames.values() if f.rgb is rgb or np.shares_memory(f.rgb, rgb))
            dets = []
            masks = [(o.label, o.name, frame.segmentation == i) for i, o in enumerate(self.obs.truth.objects)]
            masks.append((DIRT, DIRT, dirt_mask(frame, self.obs)))
            for label, name, mask in masks:
                if name in self.hide or mask.sum() < 10 or label not in self.names:
                    continue
                vs, us = np.nonzero(mask)
                dets.append(Detection(
                    class_id=self.names.index(label), label=label, score=0.9,
                    box_xyxy=np.array([us.min(), vs.min(), us.max() + 1, vs.max() + 1], float), mask=mask,
                    coeffs=np.zeros(32, np.float32), proto_feature=np.ones(32, np.float32),
                    class_scores=np.zeros(len(self.names), np.float32),
                ))
            out.append(dets)
        return out


def render_kitchen(seed: int, size: int = 224, **scene_kwargs) -> tuple[KitchenWorld, Observation]:
    from hvla.sim.scene import SceneConfig

    scene = SceneConfig(**scene_kwargs) if scene_kwargs else None
    world = KitchenWorld(seed, scene, SimConfig(image_height=size, image_width=size, segmentation=True))
    return world, world.observe()


@pytest.fixture(scope="module")
def kitchen():
    world, obs = render_kitchen(3)
    yield world, obs
    world.close()


@pytest.fixture
def gt_detector() -> GtDetector:
    return GtDetector()
