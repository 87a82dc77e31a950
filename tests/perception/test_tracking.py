"""Tracking: stable ids through occlusions, names the skills can address, static regions."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.perception.tracking import Candidate, Tracker, TrackerConfig
from hvla.perception.yolo import YoloConfig, YoloPerception


def cand(label: str, xyz, rgb=(0.9, 0.8, 0.2), category: str = "fruit", extent=(0.05, 0.05, 0.05)) -> Candidate:
    return Candidate(label, category, 0.9, np.array(xyz, float), np.array(extent, float), 0.0,
                     np.array(rgb, float), "yellow", np.zeros(4, np.float32))


def test_ids_survive_a_short_occlusion_and_objects_do_not_swap():
    tracker = Tracker(TrackerConfig(report_misses=10, max_misses=20))
    a, b = [0.5, 0.0, 0.02], [0.5, 0.1, 0.02]
    for _ in range(5):  # seen for half a second: an established track
        first = {t.label: t.track_id for t in tracker.update([cand("banana", a), cand("apple", b, (0.8, 0.1, 0.1))])}
    for _ in range(8):  # the arm hides the banana for 0.8 s
        reported = tracker.update([cand("apple", b, (0.8, 0.1, 0.1))])
        assert {t.label for t in reported} == {"banana", "apple"}  # still reported, at its last place
    back = tracker.update([cand("banana", [0.505, 0.0, 0.02]), cand("apple", b, (0.8, 0.1, 0.1))])
    assert {t.label: t.track_id for t in back} == first


def test_a_long_occlusion_forgets_the_track():
    tracker = Tracker(TrackerConfig(report_misses=3, max_misses=5, established_hits=1))
    tracker.update([cand("banana", [0.5, 0.0, 0.02])])
    for _ in range(4):
        reported = tracker.update([])
    assert reported == []
    for _ in range(2):
        tracker.update([])
    assert tracker.tracks == []


def test_a_one_frame_detection_is_forgotten_soon():
    tracker = Tracker()
    tracker.update([cand("banana", [0.5, 0.0, 0.02]), cand("lemon", [0.6, 0.2, 0.02])])
    for _ in range(4):
        tracker.update([cand("banana", [0.5, 0.0, 0.02])])
    for _ in range(30):
        reported = tracker.update([cand("banana", [0.5, 0.0, 0.02])])
    assert [t.label for t in reported] == ["banana"]


def test_a_moving_object_keeps_its_id():
    tracker = Tracker()
    ids = set()
    for k in range(20):  # carried at 0.3 m/s, seen at 10 Hz
        (t,) = tracker.update([cand("banana", [0.4 + 0.03 * k, 0.0, 0.1])])
        ids.add(t.track_id)
    assert len(ids) == 1


def test_the_established_track_keeps_the_plain_name():
    tracker = Tracker()
    for _ in range(5):
        tracker.update([cand("banana", [0.5, 0.0, 0.02])])
    reported = tracker.update([cand("banana", [0.5, 0.0, 0.02]), cand("banana", [0.5, 0.3, 0.02])])
    names = tracker.names(reported)
    oldest = min(reported, key=lambda t: t.track_id)
    newer = max(reported, key=lambda t: t.track_id)
    assert names[oldest.track_id] == "banana"
    assert names[newer.track_id] == f"banana_{newer.track_id}"


def test_a_region_keeps_the_union_of_its_sightings():
    tracker = Tracker()
    tracker.update([cand("dirt", [0.5, 0.0, 0.0], category="region", extent=(0.16, 0.2, 0.001))])
    (t,) = tracker.update([cand("dirt", [0.45, 0.0, 0.0], category="region", extent=(0.06, 0.2, 0.001))])
    assert np.allclose(t.candidate.extent_m[:2], [0.16, 0.2])  # half wiped: the patch is still the patch
    for _ in range(100):
        reported = tracker.update([])
    assert len(reported) == 1


@pytest.mark.render
def test_pipeline_track_ids_survive_an_occlusion(kitchen, gt_detector):
    _, obs = kitchen
    perception = YoloPerception(YoloConfig(), detector=gt_detector)
    gt_detector.show(obs)
    for _ in range(5):
        ids = {t.name: t.track_id for t in perception.perceive(obs).tokens}
    gt_detector.hide = {"banana"}
    for _ in range(20):  # two seconds behind the arm
        scene = perception.perceive(obs)
        assert scene.find("banana") is not None
    gt_detector.hide = set()
    assert {t.name: t.track_id for t in perception.perceive(obs).tokens} == ids
    perception.reset()
    assert perception.tracker.tracks == []


def test_one_object_seen_as_two_classes_keeps_the_stronger_but_a_fruit_in_a_bowl_stays():
    from hvla.perception.yolo import _suppress_overlaps

    banana = cand("banana", [0.64, 0.25, 0.02], extent=(0.08, 0.16, 0.04))
    banana.score = 0.8
    ghost = cand("sponge", [0.62, 0.30, 0.02], category="tool")
    ghost.score = 0.5
    bowl = cand("bowl", [0.64, 0.26, 0.025], category="container", extent=(0.2, 0.2, 0.05))
    bowl.score = 0.9
    kept = _suppress_overlaps([ghost, banana, bowl])
    assert sorted(c.label for c in kept) == ["banana", "bowl"]


def test_a_weak_detection_confirms_a_track_but_never_starts_one():
    tracker = Tracker()
    weak = cand("lemon", [0.5, 0.0, 0.03])
    weak.score = 0.4
    assert tracker.update([weak]) == []
    strong = cand("lemon", [0.5, 0.0, 0.03])
    tracker.update([strong])
    weak2 = cand("lemon", [0.5, 0.0, 0.03])
    weak2.score = 0.4
    (t,) = tracker.update([weak2])
    assert t.hits == 2 and t.misses == 0


def test_a_partly_hidden_still_object_is_not_dragged_to_a_biased_place():
    tracker = Tracker()
    for _ in range(5):
        tracker.update([cand("bowl", [0.5, 0.2, 0.025], category="container")])
    for _ in range(20):  # the arm hides half the bowl: the visible half's centre is 4 cm off, steadily
        hidden = cand("bowl", [0.5, 0.16, 0.025], category="container")
        hidden.partial = True
        (t,) = tracker.update([hidden])
    assert np.linalg.norm(t.candidate.position_m - [0.5, 0.2, 0.025]) < 0.005


def test_a_carried_object_is_followed_even_when_the_fingers_hide_it():
    tracker = Tracker()
    for _ in range(5):
        tracker.update([cand("banana", [0.5, 0.0, 0.02])])
    for k in range(1, 15):
        held = cand("banana", [0.5 + 0.03 * k, 0.0, 0.02 + 0.01 * k])
        held.partial = True
        (t,) = tracker.update([held])
    assert np.linalg.norm(t.candidate.position_m - [0.5 + 0.03 * 14, 0.0, 0.02 + 0.14]) < 0.01


def test_an_established_track_never_jumps_to_a_neighbour_of_another_class_while_its_object_is_hidden():
    tracker = Tracker()
    for _ in range(6):
        tracker.update([cand("bowl", (0.42, 0.10, 0.03), (0.9, 0.9, 0.9), "container")])
    bowl_id = next(t.track_id for t in tracker.tracks if t.label == "bowl")
    # The arm hides the bowl and uncovers a sponge 10 cm away (within the distance gate).
    for _ in range(3):
        tracker.update([cand("sponge", (0.37, 0.20, 0.01), (0.9, 0.9, 0.9), "tool")])
    bowl = next(t for t in tracker.tracks if t.track_id == bowl_id)
    assert np.allclose(bowl.candidate.position_m, (0.42, 0.10, 0.03)) and bowl.label == "bowl"


def test_a_second_mask_of_a_tracked_object_does_not_start_a_new_object():
    tracker = Tracker()
    for _ in range(6):
        tracker.update([cand("bowl", (0.42, 0.10, 0.03), category="container")])
    # The arm splits the bowl's mask in two: both halves are detected as bowls a few centimetres apart.
    tracker.update([cand("bowl", (0.41, 0.09, 0.03), category="container"),
                    cand("bowl", (0.44, 0.12, 0.03), category="container")])
    assert [t.label for t in tracker.tracks] == ["bowl"]
