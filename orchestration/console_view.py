"""What the page shows of the cameras: the latest frame of each view, with the perceived tokens in it.

A token's `box_xyxy` belongs to whichever camera saw it best, and the token does not say which one
(oracle tokens have no box at all), so each token's 3D box (position, extent, yaw: what the policy
acts on) is projected into every camera instead. A box that sits off the object therefore shows a
perception error in the units that matter, and both views get boxes from any perception.
The page draws them on a canvas over the image, so the labels stay sharp at any zoom.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import imageio.v2 as imageio
import numpy as np
from numpy.typing import NDArray

from hvla.core.messages import CameraInfo, ObjectToken, Observation, Scene

_MIN_DEPTH_M = 0.02  # corners nearer than this (or behind the camera) are not projected


def project_box(token: ObjectToken, info: CameraInfo) -> tuple[float, float, float, float] | None:
    """The image box [px] (x0, y0, x1, y1) around `token`'s 3D box in camera `info`; None when it is not in view."""
    half = np.asarray(token.extent_m, dtype=float) / 2
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    c, s = np.cos(token.yaw_rad), np.sin(token.yaw_rad)
    R_world_obj = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    corners_world = (signs * half) @ R_world_obj.T + np.asarray(token.position_m, dtype=float)
    T_cam_world = np.linalg.inv(info.T_world_cam)
    corners_cam = corners_world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    in_front = corners_cam[:, 2] > _MIN_DEPTH_M
    if not in_front.any():
        return None
    pts = corners_cam[in_front]
    u = info.K[0, 0] * pts[:, 0] / pts[:, 2] + info.K[0, 2]
    v = info.K[1, 1] * pts[:, 1] / pts[:, 2] + info.K[1, 2]
    x0, x1 = np.clip([u.min(), u.max()], 0, info.width)
    y0, y1 = np.clip([v.min(), v.max()], 0, info.height)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return round(float(x0), 1), round(float(y0), 1), round(float(x1), 1), round(float(y1), 1)


@dataclass(frozen=True)
class CameraView:
    """One camera's frame and the tokens projected into it."""

    name: str
    rgb: NDArray[np.uint8]  # (H, W, 3)
    boxes: tuple[dict[str, Any], ...]  # {name, label, track_id, score, category, color, box: [x0, y0, x1, y1]}


@dataclass(frozen=True)
class View:
    """The cameras at one executor step (`seq` counts views within a run, so the page fetches each once)."""

    seq: int
    t_s: float  # sim time of the observation [s]
    subgoal_id: str | None
    cameras: tuple[CameraView, ...]

    def camera(self, name: str) -> CameraView | None:
        return next((c for c in self.cameras if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The page's payload: PNGs inline, so one request carries frames and boxes of the same step."""
        return {
            "seq": self.seq, "t_s": round(self.t_s, 3), "subgoal_id": self.subgoal_id,
            "cameras": {
                c.name: {"width": int(c.rgb.shape[1]), "height": int(c.rgb.shape[0]), "boxes": list(c.boxes),
                         "png": "data:image/png;base64," + base64.b64encode(png_bytes(c.rgb)).decode()}
                for c in self.cameras
            },
        }


def capture(seq: int, obs: Observation, scene: Scene, subgoal_id: str | None = None) -> View:
    """The view of every rendered camera in `obs`, with `scene`'s tokens projected into each."""
    cameras = []
    for name, frame in obs.frames.items():
        boxes = []
        for tok in scene.tokens:
            box = project_box(tok, frame.info)
            if box is not None:
                boxes.append({"name": tok.name, "label": tok.label, "track_id": int(tok.track_id),
                              "score": round(float(tok.score), 3), "category": tok.category,
                              "color": tok.color_name, "box": list(box)})
        cameras.append(CameraView(name, frame.rgb, tuple(boxes)))
    return View(seq, float(obs.t_s), subgoal_id, tuple(cameras))


def png_bytes(rgb: NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    imageio.imwrite(buf, np.ascontiguousarray(rgb), format="png")
    return buf.getvalue()
