"""`YoloPerception` ("yolo"): camera frames -> YOLO11n-seg masks -> 3D object tokens, tracked.

Per observation:
1. check each camera frame (a black or blank image, or a depth map with too few returns, is flagged
   in `Scene.flags` and not used: no detection from it, so no invented position);
2. detect both cameras in one batch (ONNX Runtime by default, PyTorch with runtime="torch"; the ONNX
   model in fp32 or, with precision="int8", its static int8 twin: quantize.py);
   optionally refine the masks with segment-anything;
3. back-project each mask's depth to world points; position, extent and yaw from them (see
   geometry.py); colour name and rgb from its pixels; the feature is the mask's pooled prototypes and
   its mask coefficients (64-d, L2-normalised), the head's own description of the object;
4. fuse the cameras: detections of one object in both views pool their points;
5. track (tracking.py): stable ids, names that the planner and skills address ("banana").

Novel objects (the mango): the detector has no class for them and tends to call one a lemon. A
detection whose colour is off its class's palette (a lemon is never orange) is reported as a generic
"fruit" (or "object" for non-fruit classes) with its measured colour name, so "the orange fruit"
grounds to it. See perception/README.md.

The dirt patch comes out as the region token the skills wipe: name "counter", label "dirt".
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hvla.core.artifacts import cache_dir, resolve_artifact, sha256_of
from hvla.core.errors import CheckpointError, ConfigError
from hvla.core.messages import NO_USABLE_CAMERA, CameraFrame, ObjectToken, Observation, Proprio, Scene
from hvla.core.threads import LOOP_THREADS
from hvla.perception.base import PERCEPTION
from hvla.perception.detector import Detection, DetectorConfig
from hvla.perception.frame_health import FrameHealth
from hvla.perception.geometry import GeometryCalibration, ViewEstimate
from hvla.perception.novelty import NoveltyModel
from hvla.perception.oracle import DIRT_LABEL, REGION_NAME
from hvla.perception.tracking import Candidate, Tracker, TrackerConfig
from hvla.sim.objects import CLASSES

log = logging.getLogger(__name__)

DETECTOR_REL = "perception/yolo11n_seg_kitchen.pt"
CALIBRATION_REL = "perception/geometry_calibration.json"
INT8_REL = "perception/yolo11n_seg_kitchen_int8.onnx"
MAKE_COMMAND = "hvla perception all   (or: hvla train detector)"
QUANTIZE_COMMAND = "hvla perception quantize"
PRECISIONS = ("fp32", "int8")
GENERIC_FRUIT, GENERIC_OBJECT = "fruit", "object"
_CATEGORY = {name: cls.category for name, cls in CLASSES.items()} | {DIRT_LABEL: "region"}
_WORKSPACE_LO = np.array([-0.5, -1.0, -0.05])  # a back-projected object outside this box is an error
_WORKSPACE_HI = np.array([1.5, 1.0, 1.2])
_BOXY = ("sponge", "block")  # yaw from the top face's rectangle (geometry.object_yaw)
_REGION_MAX_Z_M = 0.01  # dirt points lie on the table top


def _boxes_touch(a: NDArray, b: NDArray, margin_m: float) -> bool:
    """Whether the robust xy boxes of two point sets overlap (grown by `margin_m`)."""
    alo, ahi = np.percentile(a[:, :2], 2, axis=0), np.percentile(a[:, :2], 98, axis=0)
    blo, bhi = np.percentile(b[:, :2], 2, axis=0), np.percentile(b[:, :2], 98, axis=0)
    return bool(np.all(alo - margin_m <= bhi) and np.all(blo - margin_m <= ahi))


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """The process's threadpoolctl controller (None without threadpoolctl), made on first use."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with the scientific stack
        return None
    return ThreadpoolController()


def _one_blas_thread():
    """Small matrix products on one BLAS thread. With OpenBLAS's default 2 threads on 2 busy cores, a
    (10 x 32) @ (32 x 3136) product took 40 ms instead of 0.4 ms: its threads spin waiting for a core."""
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


@dataclass(frozen=True)
class YoloConfig:
    """Settings of the learned perception. Environment variables give the defaults that a perception
    built by name (`--perception yolo`) uses: HVLA_YOLO_WEIGHTS, HVLA_YOLO_RUNTIME, HVLA_YOLO_PRECISION,
    HVLA_SAM_CHECKPOINT."""

    weights: Path | None = field(default_factory=lambda: _env_path("HVLA_YOLO_WEIGHTS"))  # None: the artefact
    calibration: Path | None = None  # None: the registered artefact (uncorrected geometry if absent)
    runtime: str = field(default_factory=lambda: os.environ.get("HVLA_YOLO_RUNTIME", "onnx"))
    precision: str = field(default_factory=lambda: os.environ.get("HVLA_YOLO_PRECISION", "fp32"))  # onnx only
    cameras: tuple[str, ...] = ("scene", "wrist")
    threads: int = LOOP_THREADS.detector  # the process's threading policy (core/threads.py)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    sam_checkpoint: Path | None = field(default_factory=lambda: _env_path("HVLA_SAM_CHECKPOINT"))
    sam_model_type: str = field(default_factory=lambda: os.environ.get("HVLA_SAM_MODEL_TYPE", "vit_b"))
    min_depth_fraction: float = 0.05  # a frame with fewer depth returns is unusable
    min_points: int = 8  # a mask with fewer depth returns gives no 3D estimate
    fuse_m: float = 0.06  # detections of one class closer than this in 3D are one object (see _same_object)
    off_palette_hue_deg: float = 8.0  # fallback without a novelty model: renders stay within 6 deg of their hues
    # Novelty (novelty.py): above this z-score a detection is not its class.
    # On the first frames of kitchens 1000..1059 (never used for evaluation) known classes stay below 4.5 in
    # 90 % of views but reach 8-16 in a few (a mask that took in a neighbour); a mango mistaken for a known
    # class scores 5-11. A false "novel" bowl loses the task, so the absolute bar is high and the
    # odd-one-out rule (two detections of one class, one much less typical) does most of the work.
    novelty_threshold: float = 20.0
    odd_one_out_z: float = 3.0  # ... or above this, when another detection of the class fits it better
    odd_one_out_margin: float = 1.5  # by this much, in the same camera

    def __post_init__(self) -> None:
        if self.runtime not in ("onnx", "torch"):
            raise ConfigError(f"runtime '{self.runtime}' unknown; use 'onnx' or 'torch'")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision '{self.precision}' unknown; use one of {PRECISIONS}")
        if self.precision == "int8" and self.runtime != "onnx":
            raise ConfigError("precision 'int8' runs on ONNX Runtime; use runtime='onnx' (HVLA_YOLO_RUNTIME=onnx)")
        if not self.cameras:
            raise ConfigError("the learned perception needs at least one camera")
        if not 0 < self.min_depth_fraction < 1 or self.min_points < 3 or self.fuse_m <= 0:
            raise ConfigError("min_depth_fraction in (0, 1), min_points >= 3 and fuse_m > 0 are required")


def resolve_weights(weights: Path | None) -> Path:
    """The checked detector file: the registered artefact by default.

    Raises:
        CheckpointError: missing, unlisted or corrupt (naming the path and the command that makes it).
    """
    if weights is None:
        return resolve_artifact(DETECTOR_REL, MAKE_COMMAND)
    path = Path(weights)
    if not path.exists():
        raise CheckpointError(f"detector weights {path} do not exist; make them with: {MAKE_COMMAND}")
    return path


def load_calibration(path: Path | None) -> GeometryCalibration:
    """The geometry corrections: `path`, else the registered artefact, else none (logged)."""
    if path is not None:
        return GeometryCalibration.load(path)
    try:
        return GeometryCalibration.load(resolve_artifact(CALIBRATION_REL, MAKE_COMMAND))
    except CheckpointError as exc:
        log.warning("geometry calibration unavailable, positions uncorrected: %s", exc)
        return GeometryCalibration()


def onnx_cache_path(pt_path: Path, imgsz: int) -> Path:
    """Where the ONNX export of `pt_path` lives: keyed by the weights' checksum, outside git."""
    return cache_dir() / "perception" / f"{Path(pt_path).stem}_{sha256_of(Path(pt_path))[:12]}_{imgsz}.onnx"


def int8_cache_path(pt_path: Path, imgsz: int) -> Path:
    """Where `hvla perception quantize --weights X` leaves the int8 twin of weights other than the artefact."""
    fp32 = onnx_cache_path(pt_path, imgsz)
    return fp32.with_name(fp32.stem + "_int8.onnx")


def fp32_onnx(pt: Path, imgsz: int) -> Path:
    """The ONNX export of `pt`, made once per weights file (atomic: parallel workers never see half a file)."""
    from hvla.perception.detector import export_onnx

    onnx_path = onnx_cache_path(pt, imgsz)
    if not onnx_path.exists():
        log.info("exporting %s to ONNX (%s), once per weights file", pt, onnx_path)
        onnx_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=onnx_path.parent) as tmp:
            copy = Path(tmp) / pt.name
            copy.write_bytes(pt.read_bytes())
            exported = export_onnx(copy, Path(tmp) / "model.onnx", imgsz)
            os.replace(exported, onnx_path)
    return onnx_path


def int8_onnx(pt: Path, imgsz: int) -> Path:
    """The int8 model made from exactly these weights: the registered artefact when it was made from them,
    else one quantised into the cache.

    Raises:
        CheckpointError: none exists for these weights (naming the command that makes it).
    """
    from hvla.perception.quantize import source_of

    sha = sha256_of(pt)
    candidates = []
    with contextlib.suppress(CheckpointError):
        candidates.append(resolve_artifact(INT8_REL, QUANTIZE_COMMAND))
    candidates.append(int8_cache_path(pt, imgsz))
    for path in candidates:
        if path.exists() and source_of(path) == sha:
            return path
    raise CheckpointError(f"no int8 detector was made from {pt} (sha256 {sha[:12]}); make it with: "
                          f"{QUANTIZE_COMMAND} --weights {pt}")


def build_detector(config: YoloConfig):
    """Load the network for `config.runtime`, turning any loading failure into a CheckpointError.

    The ONNX path needs no torch once the export is cached (the class names live in its metadata).
    """
    import zipfile

    from hvla.perception.detector import Detector, OnnxBackend, TorchBackend

    pt = resolve_weights(config.weights)
    if not zipfile.is_zipfile(pt):  # torch checkpoints are zip archives: reject garbage before importing torch
        raise CheckpointError(f"detector weights {pt} are not a PyTorch checkpoint (corrupt?); "
                              f"remake them with: {MAKE_COMMAND}")
    try:
        if config.runtime == "torch":
            backend = TorchBackend(pt, config.threads)
        elif config.precision == "int8":
            backend = OnnxBackend(int8_onnx(pt, config.detector.imgsz), None, config.threads)
        else:
            backend = OnnxBackend(fp32_onnx(pt, config.detector.imgsz), None, config.threads)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"detector weights {pt} could not be loaded ({type(exc).__name__}: {exc}); "
                              f"remake them with: {MAKE_COMMAND}") from exc
    return Detector(backend, config.detector)


def _generic(category: str) -> str:
    return GENERIC_FRUIT if category == "fruit" else GENERIC_OBJECT


_HOLDS_OTHERS = ("container", "surface", "region")  # things another object may lie in or on


def _suppress_overlaps(cands: list[Candidate], grow_m: float = 0.02) -> list[Candidate]:
    """Drop a weaker candidate of another class whose centre lies in a stronger one's footprint: one object
    seen as two classes (the end of a banana called a sponge). A fruit in a bowl is not such a pair."""
    keep: list[Candidate] = []
    for c in sorted(cands, key=lambda c: -c.score):
        if c.category not in _HOLDS_OTHERS and any(
            k.category not in _HOLDS_OTHERS
            and np.all(np.abs(c.position_m[:2] - k.position_m[:2]) <= k.extent_m[:2] / 2 + grow_m)
            for k in keep
        ):
            continue
        keep.append(c)
    return keep


@dataclass
class _Seen:
    """One detection lifted to 3D in one camera."""

    det: Detection
    camera: str
    points: NDArray[np.float64]
    rgb: NDArray[np.float64]
    label: str
    category: str
    est: ViewEstimate
    position_m: NDArray[np.float64]  # corrected for this view (see geometry.py)
    extent_m: NDArray[np.float64]
    novelty_z: float | None  # how unlike training views of its class it looks (novelty.py); None: not judged


@PERCEPTION.register("yolo", config=YoloConfig)
class YoloPerception:
    """The learned perception. Build it with a config, or with a ready `detector` (tests, benchmarks)."""

    image_size: int = 224  # frames it wants rendered (the detector's input size; the stack reads this)

    def __init__(self, config: YoloConfig | None = None, detector=None, refiner=None) -> None:
        from hvla.perception.color import ColorNamer

        self.config = config or YoloConfig()
        self.cameras: tuple[str, ...] = tuple(self.config.cameras)
        self.detector = detector if detector is not None else build_detector(self.config)
        self.refiner = refiner if refiner is not None else self._load_refiner()
        self.calibration = load_calibration(self.config.calibration)
        self.novelty = NoveltyModel.from_json(self.calibration.novelty)
        self.tracker = Tracker(self.config.tracker)
        self.frame_health = FrameHealth()
        self.colors = ColorNamer()
        self.token_times_s: list[float] = []

    def _load_refiner(self):
        if self.config.sam_checkpoint is None:
            log.info("segment-anything refinement off: no SAM checkpoint configured (set HVLA_SAM_CHECKPOINT)")
            return None
        from hvla.perception.sam import SamRefiner

        return SamRefiner.from_checkpoint(self.config.sam_checkpoint, self.config.sam_model_type)

    def reset(self) -> None:
        self.tracker.reset()
        self.frame_health.reset()

    # --- the pipeline -----------------------------------------------------------------------
    def perceive(self, obs: Observation) -> Scene:
        with _one_blas_thread():
            return self._perceive(obs)

    def _perceive(self, obs: Observation) -> Scene:
        flags: list[str] = []
        frames = self._usable_frames(obs, flags)
        detections = self.detector([f.rgb for f in frames]) if frames else []
        t0 = time.perf_counter()
        if self.refiner is not None:
            detections = [self.refiner.refine(f.rgb, d) for f, d in zip(frames, detections)]
        seen = [s for f, dets in zip(frames, detections) for s in self._lift(f, dets, flags, obs.proprio)]
        candidates = self._fuse(seen)
        tracks = self.tracker.update(candidates)
        names = self.tracker.names(tracks)
        tokens = tuple(self._token(t, names[t.track_id]) for t in tracks)
        self.token_times_s.append((time.perf_counter() - t0) / max(len(frames), 1))
        return Scene(tokens, obs, tuple(flags))

    def _usable_frames(self, obs: Observation, flags: list[str]) -> list[CameraFrame]:
        frames = []
        for cam in self.cameras:
            frame = obs.frames.get(cam)
            if frame is None:
                flags.append(f"missing_camera:{cam}")
                continue
            fault = self.frame_health.fault(cam, frame, obs)
            if fault is not None:  # handled like a lost camera: the other view carries on
                flags.append(f"{fault}:{cam}")
                continue
            rgb = np.asarray(frame.rgb)
            if int(rgb.max()) - int(rgb.min()) < 8:
                flags.append(f"blank_rgb:{cam}")
                continue
            depth = np.asarray(frame.depth_m)
            valid = np.isfinite(depth) & (depth > 0)
            if valid.mean() < self.config.min_depth_fraction:
                flags.append(f"invalid_depth:{cam}")
                continue
            frames.append(frame)
        if self.cameras and not frames:
            flags.append(NO_USABLE_CAMERA)
        return frames

    def _lift(self, frame: CameraFrame, dets: list[Detection], flags: list[str], proprio: Proprio) -> list[_Seen]:
        from hvla.perception.color import robust_rgb
        from hvla.perception.geometry import mask_points, occluded, touches_border, view_estimate, z_band
        from hvla.perception.self_filter import on_gripper

        out = []
        cam_pos = frame.info.T_world_cam[:3, 3]
        for det in dets:
            pts = mask_points(frame.depth_m, det.mask, frame.info.K, frame.info.T_world_cam)
            if len(pts):
                pts = pts[~on_gripper(pts, proprio.T_world_ee, proprio.gripper_m)]
            if _CATEGORY.get(det.label) != "region":
                pts = z_band(pts, self.calibration.max_height(det.label, frame.info.name) + 0.01)
            est = None
            if len(pts) >= self.config.min_points:
                hidden = occluded(frame.depth_m, det.mask)
                est = view_estimate(pts, cam_pos, touches_border(det.mask), hidden)
            if est is None:
                flags.append(f"no_depth:{det.label}@{frame.info.name}")
                continue
            if np.any(est.middle_m < _WORKSPACE_LO) or np.any(est.middle_m > _WORKSPACE_HI):
                flags.append(f"out_of_workspace:{det.label}@{frame.info.name}")
                continue
            rgb = robust_rgb(frame.rgb, det.mask)
            label, category = det.label, _CATEGORY.get(det.label, GENERIC_OBJECT)
            if category == "region":
                # Dirt lies on the table: keep its table-height points (not a sponge on top of it).
                pts = pts[np.abs(pts[:, 2]) < _REGION_MAX_Z_M]
                if len(pts) < self.config.min_points:
                    flags.append(f"off_table:{det.label}@{frame.info.name}")
                    continue
            z = None if est.partial else self.novelty.score(label, frame.info.name, rgb, est)
            position, extent = self.calibration.apply(est, label, frame.info.name)
            out.append(_Seen(det, frame.info.name, pts, rgb, label, category, est, position, extent, z))
        return out

    def _fuse(self, seen: list[_Seen]) -> list[Candidate]:
        """Group detections of one object (same class, overlapping in 3D; across cameras, or one object split
        in two masks) and fuse each group into a candidate."""
        groups: list[list[_Seen]] = []
        for s in sorted(seen, key=lambda s: -s.det.score):
            for g in groups:
                if s.category == "region" and g[0].category == "region":
                    if _boxes_touch(s.points, np.concatenate([x.points for x in g]), margin_m=0.03):
                        g.append(s)  # views of one patch pool into it
                        break
                    continue
                if g[0].label == s.label and self._same_object(g[0], s):
                    g.append(s)
                    break
            else:
                groups.append([s])
        return self._odd_one_out(_suppress_overlaps([self._candidate(g) for g in groups]))

    def _odd_one_out(self, cands: list[Candidate]) -> list[Candidate]:
        """Two detections of one class where one looks much less like it (novelty z-score, compared in a
        camera that judged both): that one is the stranger (the mango beside the real sponge), reported as
        generic even below the absolute threshold."""
        cfg = self.config
        by_label: dict[str, list[Candidate]] = {}
        for c in cands:
            if c.category not in ("region", GENERIC_FRUIT, GENERIC_OBJECT):
                by_label.setdefault(c.label, []).append(c)
        strangers = set()
        for group in by_label.values():
            for a in group:
                for b in group:
                    shared = sorted(set(a.novelty_by_camera) & set(b.novelty_by_camera))
                    if a is b or not shared:
                        continue
                    za = float(np.mean([a.novelty_by_camera[k] for k in shared]))
                    zb = float(np.mean([b.novelty_by_camera[k] for k in shared]))
                    if za > cfg.odd_one_out_z and za > zb + cfg.odd_one_out_margin:
                        strangers.add(id(a))
        for c in cands:
            if id(c) in strangers:
                c.label = c.category = _generic(c.category)
                c.color_name = self.colors.name(c.color_rgb, None)
        return cands

    def _same_object(self, a: _Seen, b: _Seen) -> bool:
        """Centres closer than `fuse_m`, or than 40 % of the larger footprint (a plate's views differ more)."""
        reach = max(self.config.fuse_m, 0.4 * float(max(a.extent_m[:2].max(), b.extent_m[:2].max())))
        d = a.position_m - b.position_m
        return bool(np.linalg.norm(d[:2]) < reach and abs(d[2]) < 0.05)

    def _candidate(self, g: list[_Seen]) -> Candidate:
        from hvla.perception.geometry import fuse_views, object_yaw

        points = np.concatenate([s.points for s in g])
        if g[0].category == "region":  # flat and static: the box of all its points, on the table
            lo, hi = np.percentile(points, 2, axis=0), np.percentile(points, 98, axis=0)
            position = np.array([*(lo[:2] + hi[:2]) / 2, 0.0])
            extent = np.array([*(hi[:2] - lo[:2]), 0.001])
        else:
            position, extent = fuse_views(
                [(s.position_m, s.extent_m, self.calibration.weight(s.est, s.label, s.camera)) for s in g])
            if position[2] < extent[2] / 2:  # nothing sinks into the table
                position[2] = extent[2] / 2
        yaw, elongation = object_yaw(points, boxy=g[0].label in _BOXY)
        best = max(g, key=lambda s: s.det.mask.sum())
        weights = np.array([s.det.mask.sum() for s in g], float)
        rgb = np.average([s.rgb for s in g], axis=0, weights=weights)
        feat = np.average([np.concatenate([s.det.proto_feature, s.det.coeffs]) for s in g], axis=0,
                          weights=weights).astype(np.float32)
        feat /= max(float(np.linalg.norm(feat)), 1e-9)
        label, category = g[0].label, g[0].category
        # A novel object mistaken for a known class: its full views look unlike the class's training views
        # (novelty.py); a class without a fitted model falls back to the palette's hues.
        judged = [s for s in g if s.novelty_z is not None]
        novelty_z = float(np.mean([s.novelty_z for s in judged])) if judged else 0.0
        if judged:
            novel = novelty_z > self.config.novelty_threshold
        else:
            novel = self.colors.off_palette(rgb, label, self.config.off_palette_hue_deg) and not self.novelty.classes
        if category != "region" and novel:
            label = category = _generic(category)
        known = label if label in _CATEGORY else None
        return Candidate(
            label=label, category=category, score=max(s.det.score for s in g), position_m=position,
            extent_m=extent, yaw_rad=yaw, color_rgb=np.clip(rgb, 0, 1), color_name=self.colors.name(rgb, known),
            feature=feat, box_xyxy=best.det.box_xyxy, mask=best.det.mask, camera=best.camera, elongation=elongation,
            partial=all(s.est.partial for s in g), novelty_z=novelty_z,
            novelty_by_camera={s.camera: s.novelty_z for s in judged if s.novelty_z is not None},
        )

    def _token(self, track, name: str) -> ObjectToken:
        c: Candidate = track.candidate
        label = track.label
        is_region = c.category == "region"
        return ObjectToken(
            track_id=track.track_id, label=label, score=float(np.clip(c.score * 0.95 ** track.misses, 0, 1)),
            position_m=c.position_m, extent_m=c.extent_m, color_name=c.color_name, color_rgb=c.color_rgb,
            feature=c.feature, yaw_rad=float(c.yaw_rad), category=c.category,
            box_xyxy=c.box_xyxy, mask=c.mask, name=REGION_NAME if is_region and name == label else name,
        )

    # --- for benchmarks ---------------------------------------------------------------------
    def timings_ms(self) -> dict[str, float]:
        """Median milliseconds per camera frame of each stage so far."""
        t = self.detector.timings
        med = lambda xs: 1e3 * float(np.median(xs)) if xs else float("nan")  # noqa: E731
        return {"preprocess": med(t.preprocess_s), "inference": med(t.inference_s),
                "postprocess": med(t.postprocess_s), "tokens": med(self.token_times_s)}

