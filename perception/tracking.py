"""Multi-object tracking in 3D: Hungarian assignment on world distance and appearance.

Each frame's fused object candidates are matched to live tracks by `linear_sum_assignment` on a cost
of 3D distance (gated), label disagreement and colour difference. A track that misses frames keeps its
last estimate and is still reported for `report_misses` frames (an arm passing in front of the
banana must not make it vanish from the scene), and is dropped after `max_misses`; a track seen only
a few times (maybe a false detection) goes much sooner.

Names: the most established track of a label (most hits) is called by the label ("banana"), so the
planner and the skills can address it; any other track of that label is `label_<track id>`. A newly
appearing spurious duplicate therefore never steals the name. Region tracks (the dirt patch) are
static: their box is the union of every sighting, since wiping makes the visible patch shrink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError

FloatArray = NDArray[np.float64]


@dataclass
class Candidate:
    """One object seen in the current frame (fused over cameras), before tracking."""

    label: str
    category: str
    score: float
    position_m: FloatArray
    extent_m: FloatArray
    yaw_rad: float
    color_rgb: FloatArray
    color_name: str
    feature: NDArray[np.float32]
    box_xyxy: FloatArray | None = None
    mask: NDArray[np.bool_] | None = None
    camera: str = ""
    elongation: float = 1.0
    partial: bool = False  # every view of it was cut off or occluded: its position may be biased
    novelty_z: float = 0.0  # how unlike its class it looks (perception/novelty.py), mean over judged views
    novelty_by_camera: dict[str, float] = field(default_factory=dict)


@dataclass
class Track:
    track_id: int
    candidate: Candidate  # the latest estimate
    label_votes: dict[str, float] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    pending: int = 0  # frames in a row whose measurement was neither "still" nor a clear move
    last_measured: FloatArray | None = None  # the previous raw measurement (motion between frames)
    region_lo: FloatArray | None = None  # regions: union box of all sightings
    region_hi: FloatArray | None = None

    @property
    def label(self) -> str:
        return max(self.label_votes, key=lambda k: self.label_votes[k]) if self.label_votes else self.candidate.label


@dataclass(frozen=True)
class TrackerConfig:
    gate_m: float = 0.12  # farther candidates never match a track
    label_cost: float = 0.6  # added when the labels differ (in units of gate_m)
    color_cost: float = 0.5  # times the rgb distance
    smoothing: float = 0.3  # weight of a new measurement of an object that has not moved
    still_m: float = 0.015  # a measurement this close to the estimate refines it (the object is still)
    jump_m: float = 0.025  # this far away, the object moved: take the measurement at once
    confirm: int = 2  # in between, the estimate holds for this many frames before it follows
    report_misses: int = 150  # frames an established track is still reported unseen (15 s at 10 Hz: the arm
    max_misses: int = 300  # can hide an object for a whole place motion); then it is forgotten
    established_hits: int = 5  # a track seen fewer times is a possible false detection:
    new_report_misses: int = 5  # reported only this long unseen,
    new_max_misses: int = 10  # and forgotten after this
    new_track_score: float = 0.6  # a weaker detection only confirms an existing track (as in ByteTrack)
    relabel_m: float = 0.04  # an established track takes another label's detection only this close (a
    # flickering class on the same object), never a neighbour's: the bowl's track must not jump to the
    # sponge while the arm hides the bowl
    fragment_m: float = 0.06  # an unmatched detection this close to a live track of its label is a
    # fragment of that object (a mask split by the arm in front of it), not a new object

    def __post_init__(self) -> None:
        if self.gate_m <= 0 or not 0 < self.smoothing <= 1:
            raise ConfigError(f"gate_m={self.gate_m} must be > 0 and smoothing={self.smoothing} in (0, 1]")
        if not 0 < self.still_m <= self.jump_m or self.confirm < 0:
            raise ConfigError("need 0 < still_m <= jump_m and confirm >= 0")
        if not (0 <= self.report_misses <= self.max_misses and 0 <= self.new_report_misses <= self.new_max_misses):
            raise ConfigError("need 0 <= report_misses <= max_misses (and the same for new tracks)")


def _blend_yaw(old: float, new: float, a: float) -> float:
    """Blend two headings of a symmetric object (period pi) in the doubled-angle space."""
    v = (1 - a) * np.exp(2j * old) + a * np.exp(2j * new)
    return float(np.angle(v) / 2) if abs(v) > 1e-9 else float(new)


class Tracker:
    """Keeps tracks across `update` calls; `reset` forgets them (a new episode)."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1

    def cost_matrix(self, candidates: list[Candidate]) -> FloatArray:
        cfg = self.config
        cost = np.full((len(self.tracks), len(candidates)), np.inf)
        for i, tr in enumerate(self.tracks):
            for j, c in enumerate(candidates):
                if (tr.candidate.category == "region") != (c.category == "region"):
                    continue
                d = float(np.linalg.norm(tr.candidate.position_m - c.position_m))
                if tr.candidate.category == "region":  # a sighting of a region lies inside it
                    if not self._inside_region(tr, c.position_m - c.extent_m / 2, c.position_m + c.extent_m / 2):
                        continue
                    d = 0.0
                if d > cfg.gate_m:
                    continue
                if tr.label != c.label and tr.hits >= cfg.established_hits and d > cfg.relabel_m:
                    continue
                col = float(np.linalg.norm(tr.candidate.color_rgb - c.color_rgb))
                cost[i, j] = d / cfg.gate_m + cfg.label_cost * (tr.label != c.label) + cfg.color_cost * col
        return cost

    def update(self, candidates: list[Candidate]) -> list[Track]:
        """Assign, update, age; returns the tracks to report this frame."""
        from scipy.optimize import linear_sum_assignment

        cost = self.cost_matrix(candidates)
        matched_t, matched_c = set(), set()
        if cost.size:
            finite = np.where(np.isfinite(cost), cost, 1e6)
            rows, cols = linear_sum_assignment(finite)
            for r, c in zip(rows, cols):
                if np.isfinite(cost[r, c]):
                    self._absorb(self.tracks[r], candidates[c])
                    matched_t.add(r)
                    matched_c.add(c)
        for i, tr in enumerate(self.tracks):
            if i not in matched_t:
                tr.misses += 1
        existing = list(self.tracks)
        for j, c in enumerate(candidates):
            if j not in matched_c and c.score >= self.config.new_track_score and not self._fragment(c, existing):
                self._start(c)
        self.tracks = [t for t in self.tracks if self._alive(t, report=False)]
        return [t for t in self.tracks if self._alive(t, report=True)]

    def _alive(self, t: Track, report: bool) -> bool:
        cfg = self.config
        if t.candidate.category == "region":
            return True
        if t.hits >= cfg.established_hits:
            return t.misses <= (cfg.report_misses if report else cfg.max_misses)
        return t.misses <= (cfg.new_report_misses if report else cfg.new_max_misses)

    def names(self, tracks: list[Track]) -> dict[int, str]:
        """Instance name per track id: the label for the most established track of each label."""
        by_label: dict[str, list[Track]] = {}
        for t in tracks:
            by_label.setdefault(t.label, []).append(t)
        names = {}
        for label, group in by_label.items():
            group.sort(key=lambda t: (-t.hits, t.track_id))
            for k, t in enumerate(group):
                names[t.track_id] = label if k == 0 else f"{label}_{t.track_id}"
        return names

    # --- internals --------------------------------------------------------------------------
    def _fragment(self, c: Candidate, tracks: list[Track]) -> bool:
        if c.category == "region":
            return False
        return any(t.label == c.label and t.candidate.category != "region"
                   and float(np.linalg.norm(t.candidate.position_m - c.position_m)) < self.config.fragment_m
                   for t in tracks)

    def _start(self, c: Candidate) -> None:
        tr = Track(self._next_id, c, {c.label: c.score}, hits=1)
        if c.category == "region":
            tr.region_lo, tr.region_hi = c.position_m - c.extent_m / 2, c.position_m + c.extent_m / 2
        self.tracks.append(tr)
        self._next_id += 1

    def _absorb(self, tr: Track, c: Candidate) -> None:
        a = self.config.smoothing
        old = tr.candidate
        tr.hits += 1
        tr.misses = 0
        tr.label_votes[c.label] = tr.label_votes.get(c.label, 0.0) + c.score
        if c.category == "region":
            assert tr.region_lo is not None and tr.region_hi is not None
            tr.region_lo = np.minimum(tr.region_lo, c.position_m - c.extent_m / 2)
            tr.region_hi = np.maximum(tr.region_hi, c.position_m + c.extent_m / 2)
            c.position_m = (tr.region_lo + tr.region_hi) / 2
            c.extent_m = tr.region_hi - tr.region_lo
            tr.candidate = c
            return
        # Hysteresis. A still object's estimate is refined slowly, so per-frame noise and the bias of a
        # partly occluded view (fingers closing round it) do not make the hand chase its own target; a
        # clear move (carried, pushed, dropped) is followed. A measurement from occluded views only (the
        # arm over the bowl) moves the estimate only while the measurements themselves keep moving
        # (the object is being carried), never to a steady but biased place.
        cfg = self.config
        raw = c.position_m.copy()
        delta = float(np.linalg.norm(raw - old.position_m))
        moving = tr.last_measured is not None and float(np.linalg.norm(raw - tr.last_measured)) > cfg.still_m / 2
        tr.last_measured = raw
        if delta < cfg.still_m:
            tr.pending = 0
            w = a * (0.3 if c.partial else 1.0)
            c.position_m = old.position_m + w * (raw - old.position_m)
            c.extent_m = old.extent_m + w * (c.extent_m - old.extent_m)
            c.yaw_rad = _blend_yaw(old.yaw_rad, c.yaw_rad, w)
        elif c.partial:
            tr.pending = tr.pending + 1 if moving else 0
            if not (moving and tr.pending > cfg.confirm):
                c.position_m, c.extent_m, c.yaw_rad = old.position_m, old.extent_m, old.yaw_rad
        elif delta < cfg.jump_m and tr.pending < cfg.confirm:
            tr.pending += 1
            c.position_m, c.extent_m, c.yaw_rad = old.position_m, old.extent_m, old.yaw_rad
        else:
            tr.pending = 0
        tr.candidate = c

    @staticmethod
    def _inside_region(tr: Track, lo: FloatArray, hi: FloatArray, min_overlap: float = 0.5) -> bool:
        """Whether the xy box lo..hi overlaps the region's box by at least `min_overlap` of the smaller
        box: a partial first sighting still grows to the whole patch, while a false detection beside it
        starts a region of its own instead of stretching this one."""
        assert tr.region_lo is not None and tr.region_hi is not None
        inter = np.clip(np.minimum(hi[:2], tr.region_hi[:2]) - np.maximum(lo[:2], tr.region_lo[:2]), 0, None).prod()
        smaller = min(np.prod(hi[:2] - lo[:2]), np.prod(tr.region_hi[:2] - tr.region_lo[:2]))
        return bool(inter >= min_overlap * max(smaller, 1e-9))
