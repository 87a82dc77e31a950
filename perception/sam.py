"""Optional segment-anything refinement of YOLO masks, prompted by the YOLO boxes.

Off unless a local SAM checkpoint is configured (`YoloConfig.sam_checkpoint`, or the environment
variable HVLA_SAM_CHECKPOINT with HVLA_SAM_MODEL_TYPE, default "vit_b"); nothing is downloaded. SAM's
mask replaces YOLO's only when the two agree on the object (IoU above `min_iou`): SAM draws sharper
edges, YOLO knows which object the box meant.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from hvla.core.errors import CheckpointError
from hvla.perception.detector import Detection, guard_torch_import

log = logging.getLogger(__name__)


class SamRefiner:
    """Wraps `segment_anything.SamPredictor` around any `Sam` model (a checkpoint's or a test's tiny one)."""

    def __init__(self, sam_model, min_iou: float = 0.3) -> None:
        guard_torch_import()
        from segment_anything import SamPredictor

        self.predictor = SamPredictor(sam_model.eval())
        self.min_iou = min_iou

    @classmethod
    def from_checkpoint(cls, path: Path, model_type: str = "vit_b", min_iou: float = 0.3) -> SamRefiner:
        guard_torch_import()
        from segment_anything import sam_model_registry

        path = Path(path)
        if not path.exists():
            raise CheckpointError(
                f"SAM checkpoint {path} does not exist; download a segment-anything checkpoint ({model_type}) "
                "to that path or unset HVLA_SAM_CHECKPOINT to run without refinement"
            )
        if model_type not in sam_model_registry:
            raise CheckpointError(f"SAM model type '{model_type}' unknown; known: {sorted(sam_model_registry)}")
        try:
            model = sam_model_registry[model_type](checkpoint=str(path))
        except Exception as exc:
            raise CheckpointError(f"SAM checkpoint {path} could not be loaded as {model_type}: {exc}") from exc
        log.info("segment-anything refinement on: %s (%s)", path, model_type)
        return cls(model, min_iou)

    def refine(self, rgb: np.ndarray, detections: list[Detection]) -> list[Detection]:
        """The detections with SAM's mask where it agrees with YOLO's."""
        if not detections:
            return detections
        import torch

        with torch.inference_mode():
            self.predictor.set_image(rgb)
            out = []
            for det in detections:
                masks, _, _ = self.predictor.predict(box=det.box_xyxy.astype(np.float32), multimask_output=False)
                sam_mask = masks[0].astype(bool)
                inter = np.logical_and(sam_mask, det.mask).sum()
                union = np.logical_or(sam_mask, det.mask).sum()
                iou = inter / union if union else 0.0
                out.append(replace(det, mask=sam_mask) if iou >= self.min_iou else det)
        return out
