"""Depth back-projection and the 3D pose of a masked object: position, extent and yaw in the world frame.

The camera frame is OpenCV's (x right, y down, z forward); depth is metres along the optical axis, NaN
where the sensor has no return. A mask's points are the object's surface *as seen*: the hidden back
and underside are missing, so the middle of the visible points sits in front of and above the true
centre, and the visible extent is short. How much depends on the class and the viewpoint, and is
nearly constant for each (class, camera): `GeometryCalibration` holds one small correction per pair,
fitted on training renders (`calibrate`), expressed in the view's own horizontal frame (forward =
from the camera towards the object, lateral, up). Uncalibrated pairs get a generic correction.

Fusing cameras averages the corrected per-view estimates, weighted by the inverse square of each
pair's typical residual; a view whose mask touches the image border (the object is cut off) counts
for a tenth.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_Z = np.array([0.0, 0.0, 1.0])


def backproject(depth_m: NDArray, K: FloatArray, T_world_cam: FloatArray) -> FloatArray:
    """World points (H, W, 3) of every pixel; NaN where depth is NaN, non-positive or inf."""
    h, w = depth_m.shape
    d = np.asarray(depth_m, dtype=np.float64)
    d = np.where(np.isfinite(d) & (d > 0), d, np.nan)
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x = (u - K[0, 2]) / K[0, 0] * d
    y = (v - K[1, 2]) / K[1, 1] * d
    cam = np.stack([x, y, d], axis=-1)
    return cam @ T_world_cam[:3, :3].T + T_world_cam[:3, 3]


def mask_box(mask: NDArray[np.bool_], pad: int = 0) -> tuple[slice, slice] | None:
    """Row and column slices around a mask's pixels (grown by `pad`); None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + pad + 1, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + pad + 1, w)))


def mask_points(
    depth_m: NDArray, mask: NDArray[np.bool_], K: FloatArray, T_world_cam: FloatArray, erode: int = 1,
    max_points: int = 800,
) -> FloatArray:
    """World points (N, 3) of a mask's pixels that have a depth return (at most `max_points`, evenly
    subsampled: robust statistics need no more, and a close-up bowl has 10 000).

    The mask is eroded by `erode` pixels first (when enough remains): boundary pixels mix the object
    with whatever is behind it, and one such pixel moves a 3D extent by the distance to the table.
    """
    box = mask_box(np.asarray(mask, bool), pad=1)
    if box is None:
        return np.zeros((0, 3))
    m = np.asarray(mask, bool)[box]
    if erode > 0 and m.sum() > 30:
        import cv2

        eroded = cv2.erode(m.astype(np.uint8), np.ones((2 * erode + 1, 2 * erode + 1), np.uint8)).astype(bool)
        if eroded.sum() >= max(10, 0.3 * m.sum()):
            m = eroded
    vs, us = np.nonzero(m)
    if len(vs) > max_points:
        step = int(np.ceil(len(vs) / max_points))
        vs, us = vs[::step], us[::step]
    vs, us = vs + box[0].start, us + box[1].start
    d = np.asarray(depth_m)[vs, us].astype(np.float64)
    ok = np.isfinite(d) & (d > 0)
    vs, us, d = vs[ok], us[ok], d[ok]
    cam = np.stack([(us + 0.5 - K[0, 2]) / K[0, 0] * d, (vs + 0.5 - K[1, 2]) / K[1, 1] * d, d], axis=-1)
    return np.einsum("nj,ij->ni", cam, T_world_cam[:3, :3]) + T_world_cam[:3, 3]


def _q(sorted_values: NDArray, q: float) -> float:
    """The q-th percentile of an already sorted 1-D array (nearest rank: fast, robust enough here)."""
    return float(sorted_values[min(int(round(q / 100.0 * (len(sorted_values) - 1))), len(sorted_values) - 1)])


def principal_yaw(xy: FloatArray) -> tuple[float, float]:
    """Heading in [-pi/2, pi/2) of the long axis of 2D points, and the ratio of the spreads (long / short)."""
    if len(xy) < 3:
        return 0.0, 1.0
    centred = xy - xy.mean(axis=0)
    cov = centred.T @ centred / len(xy)
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, 1]
    yaw = float(np.arctan2(major[1], major[0]))
    yaw = (yaw + np.pi / 2) % np.pi - np.pi / 2
    ratio = float(np.sqrt(max(evals[1], 1e-12) / max(evals[0], 1e-12)))
    return yaw, ratio


def object_yaw(points: FloatArray, boxy: bool = False) -> tuple[float, float]:
    """Heading of an object's long horizontal axis from its world points, and its elongation.

    Boxes (the sponge): the minimum-area rectangle of the top face, whose edges the side faces seen
    at an angle would tilt in a principal-axis fit. Round and elongated shapes: the principal axis
    of all points.
    """
    yaw, ratio = principal_yaw(points[:, :2])
    if not boxy or len(points) < 10:
        return yaw, ratio
    import cv2

    top = np.percentile(points[:, 2], 97)
    height = top - min(float(np.percentile(points[:, 2], 3)), 0.0)
    face = points[points[:, 2] >= top - max(0.005, 0.25 * height), :2]
    if len(face) < 5:
        return yaw, ratio
    (_, _), (w, h), angle = cv2.minAreaRect((face * 1000).astype(np.float32))  # mm: cv2 rounds
    a = np.deg2rad(angle if w >= h else angle + 90.0)
    return float((a + np.pi / 2) % np.pi - np.pi / 2), ratio


@dataclass(frozen=True)
class ViewEstimate:
    """What one camera's points say, before correction. Frame: forward f, lateral l (= z x f), up z."""

    forward: FloatArray  # (2,) unit, world xy, from the camera towards the object
    middle_m: FloatArray  # (3,) middle of the robust box in (f, l) and its top height (z)
    extent_m: FloatArray  # (3,) world-aligned robust box size of the visible points
    n_points: int
    truncated: bool  # the mask touches the image border
    occluded: bool = False  # something nearer the camera borders the mask (the arm, a bowl's rim)
    top_fraction: float = 0.0  # share of the points within 4 mm of the top: high for a flat top (a box)

    @property
    def partial(self) -> bool:
        return self.truncated or self.occluded


def view_estimate(points: FloatArray, cam_pos_m: FloatArray, truncated: bool = False, occluded: bool = False,
                  lo_q: float = 3.0, hi_q: float = 97.0) -> ViewEstimate | None:
    """Robust box of one view's points (percentiles drop stray boundary pixels); None under 5 points."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 5:
        return None
    srt = np.sort(pts, axis=0)
    centre = srt[len(srt) // 2]
    f = centre[:2] - np.asarray(cam_pos_m)[:2]
    f = f / max(float(np.linalg.norm(f)), 1e-9)
    lat = np.array([-f[1], f[0]])
    pf = np.sort(pts[:, 0] * f[0] + pts[:, 1] * f[1])
    pl = np.sort(pts[:, 0] * lat[0] + pts[:, 1] * lat[1])
    mid_f = 0.5 * (_q(pf, lo_q) + _q(pf, hi_q))
    mid_l = 0.5 * (_q(pl, lo_q) + _q(pl, hi_q))
    top = _q(srt[:, 2], hi_q)
    middle = np.array([*(mid_f * f + mid_l * lat), top])
    lo = np.array([_q(srt[:, k], lo_q) for k in range(3)])
    hi = np.array([_q(srt[:, k], hi_q) for k in range(3)])
    top_fraction = float(np.mean(pts[:, 2] >= top - 0.004))
    return ViewEstimate(f, middle, np.maximum(hi - lo, 1e-3), len(pts), truncated, occluded, top_fraction)


@dataclass(frozen=True)
class Correction:
    """Add to a view's estimate to get the true centre and extent (medians over training views)."""

    forward_m: float = 0.0  # centre lies this far beyond the visible middle, away from the camera
    lateral_m: float = 0.0
    top_to_centre_m: float = 0.0  # centre z = top - this
    extent_add_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    spread_m: float = 0.02  # median position error left after correction: weighs views when fusing
    height_range_m: tuple[float, float] = (0.0, 1.0)  # corrected heights seen in training (objects on the table)
    n: int = 0  # training views behind it


@dataclass
class GeometryCalibration:
    """Corrections by "label/camera"; `default` for pairs never seen in training (a novel object).
    `novelty` (novelty.py) is fitted on the same views and travels in the same file."""

    table: dict[str, Correction] = field(default_factory=dict)
    default: Correction = field(default_factory=lambda: Correction(0.01, 0.0, 0.025, (0.02, 0.02, 0.0)))
    novelty: dict = field(default_factory=dict)  # NoveltyModel.to_json()

    def get(self, label: str, camera: str) -> Correction:
        return self.table.get(f"{label}/{camera}", self.default)

    def max_height(self, label: str, camera: str, default_m: float = 0.15) -> float:
        """The tallest the class stands in training views (its corrected height), else `default_m`."""
        c = self.table.get(f"{label}/{camera}")
        return c.height_range_m[1] if c is not None and c.height_range_m[1] < 1.0 else default_m

    def weight(self, est: ViewEstimate, label: str, camera: str) -> float:
        """Inverse-variance weight of a view when fusing; a cut-off or occluded view counts for 1/10."""
        return (0.1 if est.partial else 1.0) / self.get(label, camera).spread_m ** 2

    def apply(self, est: ViewEstimate, label: str, camera: str) -> tuple[FloatArray, FloatArray]:
        """Corrected (position (3,), extent (3,)) of one view."""
        c = self.get(label, camera)
        lat = np.array([-est.forward[1], est.forward[0]])
        xy = est.middle_m[:2] + c.forward_m * est.forward + c.lateral_m * lat
        z = est.middle_m[2] - c.top_to_centre_m
        extent = np.maximum(est.extent_m + np.array(c.extent_add_m), 1e-3)
        return np.array([*xy, z]), extent

    def save(self, path: Path) -> None:
        data = {"default": asdict(self.default), "table": {k: asdict(v) for k, v in sorted(self.table.items())},
                "novelty": self.novelty}
        Path(path).write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> GeometryCalibration:
        data = json.loads(Path(path).read_text())
        conv = lambda d: Correction(  # noqa: E731
            **{**d, "extent_add_m": tuple(d["extent_add_m"]), "height_range_m": tuple(d["height_range_m"])})
        return cls({k: conv(v) for k, v in data["table"].items()}, conv(data["default"]), data.get("novelty", {}))


def fit_corrections(samples: Iterable[tuple],
                    min_views: int = 20) -> GeometryCalibration:
    """Median residuals per (label, camera) from (label, camera, estimate, true centre, true extent, ...);
    cut-off and occluded views are left out (their error is occlusion, not viewpoint)."""
    groups: dict[str, list[tuple[float, float, float, FloatArray]]] = {}
    for label, camera, est, centre, extent, *_ in samples:
        if est.partial:
            continue
        lat = np.array([-est.forward[1], est.forward[0]])
        d = centre[:2] - est.middle_m[:2]
        on_table = centre[2] < extent[2] / 2 + 0.01
        groups.setdefault(f"{label}/{camera}", []).append(
            (float(d @ est.forward), float(d @ lat), float(est.middle_m[2] - centre[2]), extent - est.extent_m,
             est.extent_m[2] if on_table else np.nan)
        )
    table = {}
    for key, rows in groups.items():
        if len(rows) < min_views:
            continue
        arr = np.array([r[:3] for r in rows])
        ext = np.median(np.array([r[3] for r in rows]), axis=0)
        med = np.median(arr, axis=0)
        spread = float(np.median(np.linalg.norm(arr - med, axis=1)))
        heights = np.array([r[4] for r in rows if np.isfinite(r[4])]) + ext[2]
        hr = (float(np.percentile(heights, 2)), float(np.percentile(heights, 98))) if len(heights) else (0.0, 1.0)
        table[key] = Correction(float(med[0]), float(med[1]), float(med[2]), tuple(float(e) for e in ext),
                                max(spread, 1e-3), hr, len(rows))
    return GeometryCalibration(table)


def fuse_views(views: list[tuple[FloatArray, FloatArray, float]]) -> tuple[FloatArray, FloatArray]:
    """Weighted mean of corrected (position, extent, weight) per view."""
    w = np.array([v[2] for v in views], float)
    w = w / w.sum()
    position = np.sum([wi * p for wi, (p, _, _) in zip(w, views)], axis=0)
    extent = np.sum([wi * e for wi, (_, e, _) in zip(w, views)], axis=0)
    return position, extent


def occluded(depth_m: NDArray, mask: NDArray[np.bool_], ring_px: int = 2, step_m: float = 0.015,
             min_fraction: float = 0.15) -> bool:
    """Whether a nearer surface borders the mask: of the pixels just outside it, more than `min_fraction`
    are `step_m` nearer the camera than the object's nearest part (its 10th depth percentile)."""
    import cv2

    box = mask_box(np.asarray(mask, bool), pad=ring_px + 1)
    if box is None:
        return False
    m = np.asarray(mask, bool)[box]
    d = np.asarray(depth_m)[box]
    inside = d[m]
    inside = inside[np.isfinite(inside)]
    if len(inside) < 5:
        return False
    k = np.ones((2 * ring_px + 1, 2 * ring_px + 1), np.uint8)
    ring = cv2.dilate(m.astype(np.uint8), k).astype(bool) & ~m
    around = d[ring]
    around = around[np.isfinite(around)]
    if len(around) == 0:
        return False
    near = np.partition(inside, len(inside) // 10)[len(inside) // 10]
    return bool(np.mean(around < near - step_m) > min_fraction)


def z_band(points: FloatArray, height_m: float) -> FloatArray:
    """Points within `height_m` of the median height: drops pixels of an occluder (the hand above the
    banana) or of the table that a soft mask edge took in."""
    if len(points) < 5:
        return points
    z0 = np.median(points[:, 2])
    return points[np.abs(points[:, 2] - z0) <= height_m]


def touches_border(mask: NDArray[np.bool_], margin: int = 1) -> bool:
    m = np.asarray(mask, bool)
    return bool(m[:margin].any() or m[-margin:].any() or m[:, :margin].any() or m[:, -margin:].any())
