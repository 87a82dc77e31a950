"""Make the detector: render the dataset, train YOLO11n-seg on the CPU, export ONNX, register the weights.

One command reproduces the committed artefact (about 45 minutes on 2 CPU cores):

    hvla perception all            # == dataset + detector + register

or step by step: `... dataset --out data/perception`, `... detector --data data/perception/data.yaml`.
The same commands are the typer app `hvla.orchestration.cli.perception.app` (mounted by the hvla CLI).

Ultralytics is kept offline: `import hvla` sets YOLO_OFFLINE=1 (no DNS probe, no settings sync), the
model is built from its YAML (no pretrained download), AMP is off (its check downloads a model), and
plots are off (they fetch a font).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hvla.core.artifacts import register_artifact, writable_artifacts_dir
from hvla.perception.yolo import CALIBRATION_REL, DETECTOR_REL, YoloConfig, build_detector

MAKE_COMMAND = "hvla perception all"
DEFAULT_DATA = Path("data/perception")
IMGSZ = 224

def train_detector(
    data_yaml: Path, run_dir: Path, imgsz: int = IMGSZ, epochs: int = 40, hours: float = 0.62, batch: int = 16,
    seed: int = 0,
) -> Path:
    """Train yolo11n-seg from scratch; returns the best checkpoint. `hours` caps the wall time (the LR
    schedule is fitted to it, so a time-capped run still anneals properly)."""
    from ultralytics import YOLO

    model = YOLO("yolo11n-seg.yaml")
    model.train(
        data=str(Path(data_yaml).resolve()), imgsz=imgsz, epochs=epochs, time=hours, batch=batch, device="cpu",
        workers=0, plots=False, amp=False, project=str(Path(run_dir).resolve()), name="detector", exist_ok=True,
        seed=seed, close_mosaic=3, scale=0.3, patience=100, verbose=True,
        # From scratch with ~10 epochs: AdamW at a from-scratch rate, a short warm-up.
        optimizer="AdamW", lr0=0.002, warmup_epochs=1,
    )
    best = Path(run_dir).resolve() / "detector" / "weights" / "best.pt"
    if not best.exists():
        raise FileNotFoundError(f"training finished without {best}")
    return best


def validate(weights: Path, data_yaml: Path, split: str = "test", imgsz: int = IMGSZ) -> dict[str, Any]:
    """Box and mask mAP50 / mAP50-95 of `weights` (a .pt or .onnx) on a split, per class recall too."""
    from ultralytics import YOLO

    model = YOLO(str(weights), task="segment")
    m = model.val(data=str(Path(data_yaml).resolve()), split=split, imgsz=imgsz, batch=16, device="cpu",
                  plots=False, verbose=False, project="/tmp/hvla_val", name="val", exist_ok=True)
    names = m.names
    return {
        "box_map50": round(float(m.box.map50), 4), "box_map50_95": round(float(m.box.map), 4),
        "mask_map50": round(float(m.seg.map50), 4), "mask_map50_95": round(float(m.seg.map), 4),
        "mask_recall": {names[int(c)]: round(float(r), 3) for c, r in zip(m.seg.ap_class_index, m.seg.r)},
    }


def register(best: Path, data_yaml: Path, command: str = MAKE_COMMAND) -> dict[str, Any]:
    """Copy `best` to the artefacts folder and record it (with its test metrics) in the MANIFEST."""
    dest = writable_artifacts_dir() / DETECTOR_REL
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, dest)
    metrics = validate(dest, data_yaml, "test")
    metrics.update({"imgsz": IMGSZ, "model": "yolo11n-seg", "dataset": str(data_yaml)})
    entry = register_artifact(dest, command, metrics)
    build_detector(YoloConfig())  # exports the ONNX twin into the cache now, not in the first episode
    return entry


def calibrate_geometry(scenes: int = 150, gt_masks: bool = False) -> dict[str, Any]:
    """Fit the geometry corrections with the registered detector's masks and register them."""
    from hvla.perception.calibrate import calibrate

    dest = writable_artifacts_dir() / CALIBRATION_REL
    detector = None if gt_masks else build_detector(YoloConfig())
    cal = calibrate(scenes, detector)
    dest.parent.mkdir(parents=True, exist_ok=True)
    cal.save(dest)
    views = sum(c.n for c in cal.table.values())
    metrics = {"train_scenes": scenes, "views": views, "masks": "ground truth" if gt_masks else "detector"}
    return register_artifact(dest, MAKE_COMMAND + "  (step: calibrate)", metrics)
