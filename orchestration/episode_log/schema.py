"""What an episode log holds: the format's constants, the records read back, and how a step's
observation, tokens and commands are encoded into one pickle-free .npz (and decoded again).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import DatasetError, MessageError
from hvla.core.messages import (
    ActionChunk,
    Observation,
    Proprio,
    Scene,
)
from hvla.core.robot import JointCommand
from hvla.orchestration.events import Event

FORMAT_VERSION = 1
RUNNING, COMPLETE, INCOMPLETE = "running", "complete", "incomplete"
INTERRUPTED = "interrupted"  # never on disk: a "running" log whose writer is gone, as the reader sees it
STALE_S = 600.0  # a "running" log whose owner cannot be checked and that was not written for this long
IMAGE_FORMATS = ("png", "jpeg")
_EXT = {"png": ".png", "jpeg": ".jpg"}
# What np.load and zipfile raise on a truncated or garbled .npz.
_BAD_NPZ = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile)


class IncompleteEpisodeWarning(UserWarning):
    """A step or event at the end of an episode log was cut off and skipped."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, default=_json_default, allow_nan=False, indent=1).encode()
    except (TypeError, ValueError) as err:
        raise MessageError(f"{what} is not JSON-serialisable: {err}") from err


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: unreadable JSON ({err})") from err



def _encode_image(rgb: NDArray[np.uint8], fmt: str, jpeg_quality: int) -> NDArray[np.uint8]:
    kwargs = {"quality": jpeg_quality} if fmt == "jpeg" else {}
    data = iio.imwrite("<bytes>", np.ascontiguousarray(rgb), extension=_EXT[fmt], **kwargs)
    return np.frombuffer(data, dtype=np.uint8)


def _decode_image(data: NDArray[np.uint8], fmt: str) -> NDArray[np.uint8]:
    return np.asarray(iio.imread(data.tobytes(), extension=_EXT[fmt]), dtype=np.uint8)


def _observation_arrays(obs: Observation, fmt: str, jpeg_quality: int) -> tuple[dict[str, Any], dict[str, NDArray]]:
    """(JSON header, arrays) of one observation; `WorldTruth` is not logged."""
    p = obs.proprio
    arrays: dict[str, NDArray] = {
        "q_rad": p.q_rad,
        "dq_radps": p.dq_radps,
        "gripper_m": np.float64(p.gripper_m),
        "T_world_ee": p.T_world_ee,
    }
    cameras = []
    for name, frame in obs.frames.items():
        info = frame.info
        cameras.append(
            {
                "name": name,
                "width": info.width,
                "height": info.height,
                "encoding": fmt,
                "segmentation": frame.segmentation is not None,
            }
        )
        arrays[f"rgb.{name}"] = _encode_image(frame.rgb, fmt, jpeg_quality)
        arrays[f"depth.{name}"] = frame.depth_m.astype(np.float16)
        arrays[f"K.{name}"] = info.K
        arrays[f"T_world_cam.{name}"] = info.T_world_cam
        if frame.segmentation is not None:
            arrays[f"seg.{name}"] = np.asarray(frame.segmentation, dtype=np.int32)
    return {"t_s": obs.t_s, "cameras": cameras}, arrays


def _scene_arrays(scene: Scene) -> tuple[dict[str, Any], dict[str, NDArray]]:
    toks = scene.tokens
    header = {
        "flags": list(scene.flags),
        "label": [t.label for t in toks],
        "name": [t.name for t in toks],
        "color_name": [t.color_name for t in toks],
        "category": [t.category for t in toks],
    }
    arrays = {
        "tok.track_id": np.array([t.track_id for t in toks], dtype=np.int64),
        "tok.score": np.array([t.score for t in toks], dtype=np.float64),
        "tok.position_m": np.array([t.position_m for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.extent_m": np.array([t.extent_m for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.color_rgb": np.array([t.color_rgb for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.yaw_rad": np.array([t.yaw_rad for t in toks], dtype=np.float64),
    }
    return header, arrays


def _npz_bytes(header: Mapping[str, Any], arrays: Mapping[str, NDArray]) -> bytes:
    buf = io.BytesIO()
    head = np.frombuffer(_dumps(header, "step header"), dtype=np.uint8)
    np.savez_compressed(buf, header=head, **arrays)
    return buf.getvalue()



@dataclass(frozen=True)
class StepRecord:
    """One logged 10 Hz step: what was observed, perceived and commanded."""

    index: int
    t_s: float  # observation time [s]
    subgoal_id: str | None
    observation: Observation  # frames are empty when loaded with images=False; truth is never logged
    scene: Scene | None  # tokens without masks or features
    chunk: ActionChunk | None
    command_q_rad: NDArray[np.float64]  # (n, 7) joint setpoints executed during this step
    command_dq_radps: NDArray[np.float64]  # (n, 7) their feed-forward velocities
    command_gripper_m: NDArray[np.float64]  # (n,)
    path: Path

    def commands(self) -> list[JointCommand]:
        return [
            JointCommand(q, dq, float(g))
            for q, dq, g in zip(self.command_q_rad, self.command_dq_radps, self.command_gripper_m)
        ]


@dataclass(frozen=True)
class Episode:
    """An episode folder loaded back. `incomplete` is True unless `finish()` ran and every file is whole."""

    path: Path
    meta: dict[str, Any]
    plan: dict[str, Any] | None  # the latest plan
    plans: list[dict[str, Any]]  # every plan, the first one and each re-plan
    events: list[Event]
    steps: list[StepRecord]
    outcome: dict[str, Any] | None
    incomplete: bool
    state: str  # "running" (its writer lives), "interrupted" (it died without a word), "complete" or "incomplete"
    error: str | None = None  # why the writer stopped, when it could say (or, interrupted, who died)
    final_proprio: Proprio | None = None  # after the last step's commands
    final_t_s: float | None = None

    @property
    def episode_id(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class EpisodeSummary:
    """What `list_episodes` reads without opening any step file."""

    path: Path
    episode_id: str
    state: str
    success: bool | None
    n_steps: int
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
