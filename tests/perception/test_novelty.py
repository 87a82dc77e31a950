"""The novelty model: a view unlike its class's training views scores high; the odd duplicate turns generic."""

from __future__ import annotations

import numpy as np

from hvla.perception.geometry import ViewEstimate
from hvla.perception.novelty import NoveltyModel, fit_novelty
from hvla.perception.tracking import Candidate
from hvla.perception.yolo import YoloConfig, YoloPerception


def view(height: float, diag: float, top_fraction: float) -> ViewEstimate:
    side = diag / np.sqrt(2)
    return ViewEstimate(np.array([1.0, 0.0]), np.array([0.5, 0.0, height]), np.array([side, side, height]), 100,
                        False, False, top_fraction)


def sponge_model() -> NoveltyModel:
    rng = np.random.default_rng(0)
    rows = [("sponge", "scene", "yellow", np.array([0.95, 0.8, 0.15]) * rng.uniform(0.8, 1.0),
             view(0.03 + rng.normal(0, 0.002), 0.105 + rng.normal(0, 0.005), 0.78 + rng.normal(0, 0.05)))
            for _ in range(60)]
    return fit_novelty(rows)


def test_a_flat_yellow_box_is_a_sponge_and_an_orange_round_fruit_is_not():
    model = sponge_model()
    sponge = model.score("sponge", "scene", np.array([0.9, 0.76, 0.14]), view(0.031, 0.1, 0.8))
    mango = model.score("sponge", "scene", np.array([0.95, 0.7, 0.18]), view(0.045, 0.11, 0.25))
    assert sponge is not None and mango is not None
    assert sponge < 3 < mango
    assert model.score("lemon", "scene", np.zeros(3), view(0.03, 0.1, 0.5)) is None  # no model: not judged


def test_round_trip_through_json():
    model = sponge_model()
    again = NoveltyModel.from_json(model.to_json())
    v = view(0.03, 0.1, 0.8)
    assert again.score("sponge", "scene", np.array([0.9, 0.76, 0.14]), v) == model.score(
        "sponge", "scene", np.array([0.9, 0.76, 0.14]), v)


def test_the_less_typical_of_two_same_class_detections_becomes_generic(gt_detector):
    perception = YoloPerception(YoloConfig(), detector=gt_detector)

    def cand(z: float, y: float) -> Candidate:
        return Candidate("sponge", "tool", 0.9, np.array([0.5, y, 0.02]), np.full(3, 0.05), 0.0,
                         np.array([0.9, 0.6, 0.1]), "yellow", np.zeros(4, np.float32), novelty_z=z,
                         novelty_by_camera={"scene": z})

    real, stranger = cand(1.2, 0.0), cand(6.0, 0.3)
    out = perception._odd_one_out([real, stranger])
    assert [c.label for c in out] == ["sponge", "object"]
    assert out[1].color_name in ("orange", "orange-yellow", "yellow")
    alike = perception._odd_one_out([cand(1.2, 0.0), cand(2.0, 0.3)])
    assert [c.label for c in alike] == ["sponge", "sponge"]
