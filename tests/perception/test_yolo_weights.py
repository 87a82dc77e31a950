"""The committed detector, end to end on a rendered kitchen (skipped when the artefact is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core.artifacts import ARTIFACTS_DIR
from hvla.perception.yolo import DETECTOR_REL, YoloConfig, YoloPerception

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(not (ARTIFACTS_DIR / DETECTOR_REL).exists(), reason="detector weights not built"),
]


@pytest.fixture(scope="module")
def perception() -> YoloPerception:
    return YoloPerception(YoloConfig(threads=1))


def test_the_trained_detector_finds_what_the_task_needs(kitchen, perception):
    _, obs = kitchen
    perception.reset()
    scene = perception.perceive(obs)
    assert obs.truth is not None
    for name in ("banana", "bowl", "sponge"):
        tok = scene.find(name)
        assert tok is not None, f"{name} not found; tokens {[t.name for t in scene.tokens]}"
        assert np.linalg.norm(tok.position_m - obs.truth.object(name).position_m) < 0.02, name
    counter = scene.find("counter")
    assert counter is not None and counter.category == "region"
    assert np.linalg.norm(counter.position_m[:2] - obs.truth.dirt_center_m[:2]) < 0.03


def test_ids_are_stable_over_repeated_frames(kitchen, perception):
    _, obs = kitchen
    perception.reset()
    first = {t.name: t.track_id for t in perception.perceive(obs).tokens}
    for _ in range(3):
        again = {t.name: t.track_id for t in perception.perceive(obs).tokens}
    assert again == first
