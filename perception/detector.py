"""The YOLO11n-seg detector: one network, two runtimes (ONNX Runtime, PyTorch), one decoder.

Both backends return the head's raw outputs: predictions (B, 4 + C + M, A) (box centre/size in input
pixels, C class scores, M mask coefficients, A anchors) and mask prototypes (B, M, S/4, S/4). Decoding
(confidence, per-class NMS, masks) is numpy, shared, so the two paths give the same detections and
their timings compare the networks alone.

Frames are resized to S x S (S = 224) without letterboxing: both cameras are square.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """One instance in one image, in that image's pixels."""

    class_id: int
    label: str
    score: float
    box_xyxy: NDArray[np.float64]  # (4,)
    mask: NDArray[np.bool_]  # (H, W)
    coeffs: NDArray[np.float32]  # (M,) mask coefficients: a cheap appearance code
    proto_feature: NDArray[np.float32]  # (M,) prototypes pooled over the mask
    class_scores: NDArray[np.float32]  # (C,)


@dataclass
class Timings:
    """Seconds spent per stage over the calls since the last reset."""

    preprocess_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)
    postprocess_s: list[float] = field(default_factory=list)


def guard_torch_import() -> None:
    """Call before importing torch / torchvision / ultralytics / segment_anything in a process that renders.

    Mesa's software rasteriser (llvmpipe, used for EGL rendering here) maps libLLVM; triton, which
    torchvision and torch._dynamo import, bundles its own LLVM and segfaults when it loads second.
    Triton only serves GPU kernels: when Mesa's LLVM is already mapped and triton is not yet imported,
    it is hidden (torch treats it as not installed). Importing torch *before* rendering needs nothing.
    """
    import sys

    if "triton" in sys.modules:
        return
    try:
        with open("/proc/self/maps") as f:
            llvm = any("libLLVM" in line for line in f)
    except OSError:  # not Linux: no Mesa clash known
        return
    if llvm:
        sys.modules["triton"] = None  # type: ignore[assignment]


class Backend(Protocol):
    names: tuple[str, ...]

    def __call__(self, images: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]: ...


class OnnxBackend:
    """onnxruntime on the CPU with a fixed thread count (2: the loop shares the machine)."""

    def __init__(self, onnx_path: Path, names: tuple[str, ...] | None = None, threads: int = 2) -> None:
        import ast

        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # No busy-waiting between calls: on a shared 2-core machine spinning threads starve the simulator.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(onnx_path)
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        if names is None:  # ultralytics stores the class names in the model's metadata
            meta = self.session.get_modelmeta().custom_metadata_map
            table = ast.literal_eval(meta["names"])
            names = tuple(table[i] for i in range(len(table)))
        self.names = names

    def __call__(self, images: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        preds, protos = self.session.run(None, {self.input: images})[:2]
        return preds, protos


class TorchBackend:
    """The ultralytics model in eager PyTorch (fused conv+bn, eval, no grad)."""

    def __init__(self, pt_path: Path, threads: int = 2) -> None:
        guard_torch_import()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        self._torch = torch
        model = YOLO(str(pt_path), task="segment").model
        self.model = model.fuse().eval().float()
        self.names = tuple(model.names[i] for i in range(len(model.names)))

    def __call__(self, images: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        with self._torch.inference_mode():
            (preds, protos), _ = self.model(self._torch.from_numpy(images))
        return preds.numpy(), protos.numpy()


def export_onnx(pt_path: Path, onnx_path: Path, imgsz: int) -> Path:
    """ONNX with a dynamic batch (both cameras in one call); no simplifier (onnxslim is not installed)."""
    guard_torch_import()
    from ultralytics import YOLO

    from hvla.core.logs import library_output

    with library_output("ultralytics.export"):  # its report goes to hvla's log (see core/logs.py)
        out = YOLO(str(pt_path), task="segment").export(
            format="onnx", imgsz=imgsz, dynamic=True, simplify=False, opset=17, device="cpu", verbose=False
        )
    Path(onnx_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out).replace(onnx_path)
    return Path(onnx_path)


def _nms(boxes: NDArray, scores: NDArray, iou: float) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    while len(order):
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        ious = inter / (area(boxes[i]) + area(boxes[rest]) - inter + 1e-9)
        order = rest[ious <= iou]
    return keep


@dataclass(frozen=True)
class DetectorConfig:
    imgsz: int = 224
    conf: float = 0.35  # lowest class score kept
    iou: float = 0.6  # NMS overlap, per class
    agnostic_iou: float = 0.85  # across classes: one object is one detection, the best class wins
    max_det: int = 30
    mask_threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.imgsz % 32:
            raise ConfigError(f"imgsz={self.imgsz} must be a multiple of 32")
        if not (0 < self.conf < 1 and 0 < self.iou <= 1):
            raise ConfigError(f"conf={self.conf} and iou={self.iou} must be in (0, 1)")


class Detector:
    """Images in, `Detection`s out; runs any `Backend`, batching the frames of one observation."""

    def __init__(self, backend: Backend, config: DetectorConfig | None = None) -> None:
        self.backend = backend
        self.config = config or DetectorConfig()
        self.names = tuple(backend.names)
        self.timings = Timings()

    def preprocess(self, rgbs: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
        import cv2

        s = self.config.imgsz
        batch = np.empty((len(rgbs), 3, s, s), np.float32)
        for i, rgb in enumerate(rgbs):
            img = rgb if rgb.shape[:2] == (s, s) else cv2.resize(rgb, (s, s), interpolation=cv2.INTER_LINEAR)
            batch[i] = img.transpose(2, 0, 1) * (1.0 / 255.0)
        return batch

    def __call__(self, rgbs: list[NDArray[np.uint8]]) -> list[list[Detection]]:
        t0 = time.perf_counter()
        batch = self.preprocess(rgbs)
        t1 = time.perf_counter()
        preds, protos = self.backend(batch)
        t2 = time.perf_counter()
        out = [self.decode(preds[i], protos[i], rgb.shape[:2]) for i, rgb in enumerate(rgbs)]
        t3 = time.perf_counter()
        n = max(len(rgbs), 1)
        self.timings.preprocess_s.append((t1 - t0) / n)
        self.timings.inference_s.append((t2 - t1) / n)
        self.timings.postprocess_s.append((t3 - t2) / n)
        return out

    def decode(self, pred: NDArray, protos: NDArray, hw: tuple[int, int]) -> list[Detection]:
        """(4 + C + M, A) predictions and (M, h, w) prototypes -> detections in an (H, W) image."""
        cfg, nc = self.config, len(self.names)
        scores_all = pred[4:4 + nc]
        best = scores_all.max(axis=0)
        idx = np.nonzero(best >= cfg.conf)[0]
        if len(idx) == 0:
            return []
        p = pred[:, idx]
        cls = scores_all[:, idx].argmax(axis=0)
        score = best[idx]
        cx, cy, w, h = p[0], p[1], p[2], p[3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        keep: list[int] = []
        for c in np.unique(cls):  # per-class NMS, as ultralytics does by default
            sel = np.nonzero(cls == c)[0]
            keep += [int(sel[k]) for k in _nms(boxes[sel], score[sel], cfg.iou)]
        keep = sorted(keep, key=lambda k: -score[k])
        keep = [keep[k] for k in _nms(boxes[keep], score[keep], cfg.agnostic_iou)][: cfg.max_det]
        if not keep:
            return []
        return self._masks(p[:, keep], boxes[keep], cls[keep], score[keep], protos, hw)

    def _masks(self, p: NDArray, boxes: NDArray, cls: NDArray, score: NDArray, protos: NDArray,
               hw: tuple[int, int]) -> list[Detection]:
        import cv2

        nc, s = len(self.names), self.config.imgsz
        m, ph, pw = protos.shape
        coeffs = p[4 + nc:].T  # (N, M)
        logits = (coeffs @ protos.reshape(m, -1)).reshape(-1, ph, pw)
        H, W = hw
        sx, sy = W / s, H / s
        out = []
        for k in range(len(cls)):
            up = cv2.resize(logits[k], (W, H), interpolation=cv2.INTER_LINEAR)
            box = boxes[k] * [sx, sy, sx, sy]
            x1, y1 = min(max(int(box[0]), 0), W), min(max(int(box[1]), 0), H)
            x2, y2 = min(max(int(np.ceil(box[2])), 0), W), min(max(int(np.ceil(box[3])), 0), H)
            mask = np.zeros((H, W), bool)
            mask[y1:y2, x1:x2] = up[y1:y2, x1:x2] > 0.0  # sigmoid(x) > 0.5
            if not mask.any():
                continue
            small = cv2.resize(mask.astype(np.uint8), (pw, ph), interpolation=cv2.INTER_NEAREST).astype(bool)
            pooled = protos[:, small].mean(axis=1) if small.any() else protos.reshape(m, -1).mean(axis=1)
            out.append(Detection(
                class_id=int(cls[k]), label=self.names[int(cls[k])], score=float(score[k]),
                box_xyxy=np.clip(box, 0, [W, H, W, H]).astype(np.float64), mask=mask,
                coeffs=coeffs[k].astype(np.float32), proto_feature=pooled.astype(np.float32),
                class_scores=p[4:4 + nc, k].astype(np.float32),
            ))
        return out
