"""Video of an episode from the scene camera, written as mp4 (imageio + ffmpeg) once it ends."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from hvla.core.messages import ActionChunk, Observation, Scene
from hvla.core.robot import JointCommand


class VideoRecorder:
    """Collects one frame per step from `camera`; `write` encodes them atomically."""

    def __init__(self, path: Path, camera: str = "scene", fps: int = 10) -> None:
        self.path, self.camera, self.fps = Path(path), camera, fps
        self.frames: list[np.ndarray] = []

    def write_step(
        self, obs: Observation, scene: Scene, chunk: ActionChunk, commands: Sequence[JointCommand], subgoal_id: str
    ) -> None:
        frame = obs.frames.get(self.camera)
        if frame is not None:
            self.frames.append(frame.rgb)

    def write(self) -> Path | None:
        return write_mp4(self.path, self.frames, self.fps) if self.frames else None


def write_mp4(path: Path, frames: Sequence[np.ndarray], fps: int = 10) -> Path:
    """Encode RGB frames as H.264 mp4, written to a temporary name then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    with imageio.get_writer(tmp, fps=fps, codec="libx264", macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(frame)
    os.replace(tmp, path)
    return path


class FanOut:
    """Sends each step to several recorders (episode log, video, dataset)."""

    def __init__(self, *recorders: object) -> None:
        self.recorders = [r for r in recorders if r is not None]

    def write_step(
        self, obs: Observation, scene: Scene, chunk: ActionChunk, commands: Sequence[JointCommand], subgoal_id: str
    ) -> None:
        for r in self.recorders:
            r.write_step(obs, scene, chunk, commands, subgoal_id)
