"""The detector in int8: ONNX Runtime's static QDQ quantisation, calibrated on rendered kitchen frames.

    hvla perception quantize          # ~1 min: render calibration frames, quantise, register the int8 model

Why static and per-channel: the detector's cost is its convolutions, and on this CPU (AVX-512 VNNI) int8
convolutions run about twice as fast as fp32 ones (DESIGN.md) once their activation scales are fixed in
advance from real frames; dynamic quantisation would measure the scales per call and only covers MatMul.
Calibration frames are the training split's kitchens (seeds from 10000), both cameras, the views the
dataset renders, never the validation or test kitchens the accuracy is reported on.

What stays fp32: the head's decoding (distribution focal loss, anchor grid, the final concatenation). It
joins box coordinates in pixels (0..224) with class scores (0..1) in one tensor; one uint8 scale for both
wipes out every score (measured: 0 of 418 detections kept). Only the head's convolutions are quantised.

The int8 file records the checksum of the weights it came from (`hvla_source_sha256` in its metadata),
so a detector retrained since cannot be paired with a stale int8 model (yolo.py checks).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError

log = logging.getLogger(__name__)

SOURCE_KEY = "hvla_source_sha256"
METHODS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class QuantizeConfig:
    """How the int8 model is calibrated."""

    calibration_scenes: int = 40  # training-split kitchens (x 3 views x 2 cameras = 240 frames)
    method: str = "percentile"  # activation ranges: the 99.999th percentile resists a few outlier pixels
    views_per_scene: int = 3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"calibration method '{self.method}' unknown; use one of {METHODS}")
        if self.calibration_scenes < 1 or self.views_per_scene < 1:
            raise ConfigError("calibration_scenes and views_per_scene must be >= 1")


def calibration_batches(config: QuantizeConfig, preprocess) -> list[NDArray[np.float32]]:
    """Network inputs from training kitchens: the two cameras of one view in one batch, as the loop calls it."""
    from hvla.perception.dataset import SPLIT_FIRST_SEED, DatasetConfig, labelled_frames

    dataset = DatasetConfig(views_per_scene=config.views_per_scene)
    first = SPLIT_FIRST_SEED["train"]
    batches = []
    for seed in range(first, first + config.calibration_scenes):
        frames = [lf.frame.rgb for lf in labelled_frames(seed, "train", dataset)]
        batches += [preprocess(frames[i:i + 2]) for i in range(0, len(frames), 2)]
    return batches


def decoding_nodes(model) -> list[str]:
    """The nodes of the last module (ultralytics' Detect/Segment head) other than its learned
    convolutions: the box decoding that must stay fp32. The DFL's fixed 1x1 conv is decoding too."""
    def module(name: str) -> int:
        parts = name.split("/")
        return int(parts[1].split(".")[1]) if len(parts) > 2 and parts[1].startswith("model.") else -1

    last = max(module(n.name) for n in model.graph.node)
    return [n.name for n in model.graph.node
            if module(n.name) == last and (n.op_type != "Conv" or "/dfl/" in n.name)]


def _reader(input_name: str, batches: Iterable[NDArray[np.float32]]):
    """onnxruntime's CalibrationDataReader over the batches (one pass is all quantize_static makes)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[dict[str, NDArray[np.float32]]] = iter({input_name: b} for b in batches)

        def get_next(self) -> dict[str, NDArray[np.float32]] | None:
            return next(self._it, None)

    return Reader()


def quantize_onnx(fp32: Path, out: Path, batches: list[NDArray[np.float32]], method: str, source_sha256: str) -> Path:
    """Write the int8 QDQ twin of `fp32` to `out` (atomically), keeping the fp32 model's metadata
    (ultralytics' class names, stride, task) and adding the source checksum."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_static

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        # The symbolic shape pass fails on this graph (DESIGN.md); ONNX's own shape inference suffices.
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        model = onnx.load(str(pre))
        q = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(q), _reader(model.graph.input[0].name, batches), quant_format=QuantFormat.QDQ,
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=methods[method], nodes_to_exclude=decoding_nodes(model),
        )
        quantized = onnx.load(str(q))
        meta = {p.key: p.value for p in onnx.load(str(fp32), load_external_data=False).metadata_props}
        meta[SOURCE_KEY] = source_sha256
        del quantized.metadata_props[:]
        for key, value in meta.items():
            quantized.metadata_props.add(key=key, value=value)
        staged = Path(tmp) / "final.onnx"
        onnx.save(quantized, str(staged))
        os.replace(staged, out)
    log.info("int8 detector written to %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return out


def source_of(int8_path: Path) -> str | None:
    """The checksum of the weights an int8 model was made from (None: not made by quantize_onnx)."""
    import onnx

    props = onnx.load(str(int8_path), load_external_data=False).metadata_props
    return next((p.value for p in props if p.key == SOURCE_KEY), None)


def write_eval_split(root: Path, scenes: int) -> Path:
    """Render `scenes` test-split kitchens (seeds from 30000, never trained or calibrated on) into `root`
    and a data.yaml whose every split is them (ultralytics' validator insists on train and val keys)."""
    from hvla.perception.dataset import CLASS_NAMES, DatasetConfig, write_dataset

    write_dataset(root, DatasetConfig(scenes={"test": scenes}), log=False)
    lines = [f"path: {Path(root).resolve()}"] + [f"{s}: images/test" for s in ("train", "val", "test")]
    lines += ["names:"] + [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    yaml = Path(root) / "data.yaml"
    yaml.write_text("\n".join(lines) + "\n")
    return yaml


def make_int8(weights: Path | None, config: QuantizeConfig, eval_data: Path | None, eval_scenes: int = 60) -> dict:
    """Quantise the detector, measure fp32 and int8 on the same test images, and register the int8 model
    when it was made from the registered weights (other weights: into the cache, beside their fp32 export).

    Returns the metrics (both models' box and mask mAP, sizes, calibration)."""
    from hvla.core.artifacts import register_artifact, sha256_of, writable_artifacts_dir
    from hvla.core.threads import LOOP_THREADS
    from hvla.perception.detector import Detector, OnnxBackend
    from hvla.perception.train import IMGSZ, validate
    from hvla.perception.yolo import (
        DETECTOR_REL,
        INT8_REL,
        QUANTIZE_COMMAND,
        fp32_onnx,
        int8_cache_path,
        resolve_weights,
    )

    pt = resolve_weights(weights)
    fp32 = fp32_onnx(pt, IMGSZ)
    detector = Detector(OnnxBackend(fp32, None, LOOP_THREADS.detector))
    batches = calibration_batches(config, detector.preprocess)
    registered = weights is None
    out = writable_artifacts_dir() / INT8_REL if registered else int8_cache_path(pt, IMGSZ)
    quantize_onnx(fp32, out, batches, config.method, sha256_of(pt))
    if eval_data is None:
        eval_data = write_eval_split(Path("data/perception_eval"), eval_scenes)
    metrics = {
        "calibration": {"method": config.method, "train_scenes": config.calibration_scenes,
                        "frames": sum(len(b) for b in batches)},
        "eval_data": str(eval_data), "source": DETECTOR_REL if registered else str(pt),
        SOURCE_KEY: sha256_of(pt),
        "fp32": {**validate(fp32, eval_data), "bytes": fp32.stat().st_size},
        "int8": {**validate(out, eval_data), "bytes": out.stat().st_size},
    }
    if registered:
        register_artifact(out, QUANTIZE_COMMAND, metrics)
    return metrics
