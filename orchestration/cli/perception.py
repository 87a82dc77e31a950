"""`hvla perception ...`: make the perception detector (mounted by the hvla CLI; `hvla train detector` = `all`).

    hvla perception all          # dataset + detector + calibrate, ~45 min on 2 cores
    hvla perception dataset      # render data/perception (train/val/test/novel)
    hvla perception detector     # train yolo11n-seg at 224 px, register the weights
    hvla perception calibrate    # fit the 3D corrections with the new detector
    hvla perception quantize     # the detector's static int8 twin (HVLA_YOLO_PRECISION=int8), ~2 min
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from hvla.perception.dataset import DatasetConfig, write_dataset
from hvla.perception.quantize import METHODS, QuantizeConfig, make_int8
from hvla.perception.train import DEFAULT_DATA, calibrate_geometry, register, train_detector

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Make the perception detector (YOLO11n-seg).")


@app.command("dataset")
def dataset_cmd(
    out: Annotated[Path, typer.Option(help="Dataset folder (images/, labels/, data.yaml).")] = DEFAULT_DATA,
    train_scenes: Annotated[int, typer.Option(help="Kitchens in the train split.")] = 700,
    views: Annotated[int, typer.Option(help="Random views per kitchen (x 2 cameras).")] = 3,
) -> None:
    """Render the labelled dataset (train / val / test / novel splits by seed)."""
    scenes = {**DatasetConfig().scenes, "train": train_scenes}
    write_dataset(out, DatasetConfig(scenes=scenes, views_per_scene=views))


@app.command("detector")
def detector_cmd(
    data: Annotated[Path, typer.Option(help="data.yaml written by the dataset command.")] = DEFAULT_DATA / "data.yaml",
    run_dir: Annotated[Path, typer.Option(help="Where ultralytics writes the run.")] = Path("data/runs"),
    hours: Annotated[float, typer.Option(help="Wall-clock cap of training.")] = 0.62,
    epochs: Annotated[int, typer.Option(help="Epochs (fewer if the time cap is reached first).")] = 40,
    no_register: Annotated[bool, typer.Option("--no-register", help="Do not copy into artifacts/.")] = False,
) -> None:
    """Train yolo11n-seg at 224 px on the CPU, then register the weights with their test metrics."""
    t0 = time.time()
    best = train_detector(data, run_dir, epochs=epochs, hours=hours)
    print(f"[train] best checkpoint {best} after {(time.time() - t0) / 60:.1f} min")
    if not no_register:
        entry = register(best, data)
        print(json.dumps(entry, indent=1))


@app.command("calibrate")
def calibrate_cmd(
    scenes: Annotated[int, typer.Option(help="Train-split kitchens to fit on (x 3 views x 2 cameras).")] = 150,
    gt_masks: Annotated[bool, typer.Option("--gt-masks", help="Fit on true masks instead of the detector's.")] = False,
) -> None:
    """Fit the per-(class, camera) 3D corrections (geometry.py) and register them."""
    print(json.dumps(calibrate_geometry(scenes, gt_masks), indent=1))


@app.command("quantize")
def quantize_cmd(
    weights: Annotated[Path | None, typer.Option(help="Detector .pt (default: the registered one, whose int8 "
                                                        "twin is registered too; others go to the cache).")] = None,
    scenes: Annotated[int, typer.Option(help="Training kitchens to calibrate on (x 3 views x 2 cameras).")] = 40,
    method: Annotated[str, typer.Option(help=f"Activation ranges: one of {', '.join(METHODS)}.")] = "percentile",
    data: Annotated[Path | None, typer.Option(help="data.yaml to measure mAP on (its test split); default: "
                                                    "render --eval-scenes test kitchens.")] = None,
    eval_scenes: Annotated[int, typer.Option(help="Test kitchens rendered for the mAP when --data is not given.")] = 60,
) -> None:
    """Make the detector's static int8 ONNX model, calibrated on training kitchens; print fp32 vs int8 mAP."""
    print(json.dumps(make_int8(weights, QuantizeConfig(calibration_scenes=scenes, method=method), data, eval_scenes),
                     indent=1))


@app.command("all")
def all_cmd(
    out: Annotated[Path, typer.Option(help="Dataset folder.")] = DEFAULT_DATA,
    hours: Annotated[float, typer.Option(help="Wall-clock cap of training.")] = 0.62,
) -> None:
    """Dataset, training and registration in one go."""
    dataset_cmd(out=out)
    detector_cmd(data=out / "data.yaml", hours=hours)
    calibrate_cmd()


