"""Camera frames as the end-to-end network sees them: both cameras, downsampled to a few dozen pixels.

Training reads them back from a dataset's mp4 videos, the live policy from fresh renders; both go
through `to_input`, so the resize the network was trained on is the one it runs with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import DatasetError, MessageError
from hvla.core.messages import CameraFrame
from hvla.skills.data import schema
from hvla.skills.data.lerobot import IMAGE_PREFIX, Dataset

CAMERAS = ("scene", "wrist")  # the fixed overview and the hand camera (the close-up a grasp needs)
IMAGE_SIZE = 64  # px; renders are 128 px (224 behind yolo): the network's cost is set by this


def to_input(rgb: NDArray[np.uint8], size: int = IMAGE_SIZE) -> NDArray[np.uint8]:
    """(H, W, 3) -> (3, size, size), area-averaged (no aliasing of thin objects)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MessageError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    if rgb.shape[:2] != (size, size):
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def stack_frames(frames: Mapping[str, CameraFrame], cameras: Sequence[str] = CAMERAS,
                 size: int = IMAGE_SIZE) -> NDArray[np.uint8]:
    """(3 * len(cameras), size, size) from one observation's frames."""
    missing = [c for c in cameras if c not in frames]
    if missing:
        raise MessageError(f"the end-to-end policy needs camera(s) {missing}; the observation has {sorted(frames)}")
    return np.concatenate([to_input(frames[c].rgb, size) for c in cameras])


def dataset_images(ds: Dataset, cameras: Sequence[str] = CAMERAS, size: int = IMAGE_SIZE) -> NDArray[np.uint8]:
    """(frames, 3 * len(cameras), size, size) for every row of `ds`, decoded from its videos.

    Raises:
        DatasetError: a camera the dataset did not record, or a video shorter than its episodes.
    """
    import imageio.v3 as iio

    out = np.zeros((ds.num_frames, 3 * len(cameras), size, size), dtype=np.uint8)
    for c, cam in enumerate(cameras):
        key = IMAGE_PREFIX + cam
        if key not in ds.info.get("features", {}):
            raise DatasetError(f"{ds.root} has no '{cam}' video; record with `--cameras {','.join(cameras)}`")
        decoded: dict[Path, NDArray[np.uint8]] = {}
        for e, row in enumerate(ds.episodes):
            path = ds.video_path(e, key)
            if path not in decoded:
                decoded.clear()  # episodes are in file order: keep one decoded file in memory
                decoded[path] = np.stack([to_input(f, size) for f in iio.imiter(path)])
            video = decoded[path]
            first = int(round(float(row[f"videos/{key}/from_timestamp"]) * schema.FPS))
            rows = ds.frames(e)
            n = rows.stop - rows.start
            if first + n > len(video):
                raise DatasetError(f"{path} holds {len(video)} frames; episode {e} needs frames {first}..{first + n}")
            out[rows, 3 * c:3 * c + 3] = video[first:first + n]
    return out
