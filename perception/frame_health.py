"""Which camera frames can be trusted: not too old, not frozen.

A camera driver that stalls keeps delivering its last image, or delivers images late; a detector run on
them places objects where they were, not where they are. `FrameHealth` flags a frame older than
`max_age_s` (its capture stamp against the observation's clock) and a frame whose pixels are identical to
the camera's previous ones although the hand has moved since: a real sensor's noise never repeats an
image bit for bit, and in simulation a still scene renders the same image, which is why the hand's motion
is the condition (the wrist camera moves with it; the scene camera sees the arm).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import CameraFrame, Observation


@dataclass(frozen=True)
class FrameHealthConfig:
    max_age_s: float = 0.15  # 1.5 ticks of the 10 Hz loop
    frozen_motion_m: float = 0.01  # the hand moved this far while the image stayed bit-identical

    def __post_init__(self) -> None:
        if not self.max_age_s > 0 or not self.frozen_motion_m > 0:
            raise ConfigError(f"max_age_s={self.max_age_s} and frozen_motion_m={self.frozen_motion_m} must be > 0")


@dataclass
class _LastImage:
    digest: int
    hand_m: np.ndarray  # (3,) TCP position when this image was first seen


@dataclass
class FrameHealth:
    """Per camera, the last image's digest and where the hand was when it first appeared."""

    config: FrameHealthConfig = field(default_factory=FrameHealthConfig)
    _last: dict[str, _LastImage] = field(default_factory=dict)

    def reset(self) -> None:
        self._last.clear()

    def fault(self, camera: str, frame: CameraFrame, obs: Observation) -> str | None:
        """'stale_camera' or 'frozen_camera' when `frame` must not be used, else None."""
        if frame.stamp_s is not None and obs.t_s - frame.stamp_s > self.config.max_age_s:
            return "stale_camera"
        digest = zlib.crc32(np.ascontiguousarray(frame.rgb).data)
        hand = obs.proprio.ee_position_m
        last = self._last.get(camera)
        if last is None or last.digest != digest:
            self._last[camera] = _LastImage(digest, hand.copy())
            return None
        moved = float(np.linalg.norm(hand - last.hand_m))
        return "frozen_camera" if moved > self.config.frozen_motion_m else None
