"""Synthetic messages for the episode-log tests: deterministic in the step index `i`.

The SIGKILL test runs these builders in a child process too (via `runpy.run_path` on this file), so
they depend on numpy and hvla.core only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hvla.core.messages import (
    ActionChunk,
    CameraFrame,
    CameraInfo,
    ObjectToken,
    Observation,
    Proprio,
    Scene,
)
from hvla.core.robot import JointCommand

H, W = 24, 32


def make_observation(i: int, cameras: tuple[str, ...] = ("scene", "wrist")) -> Observation:
    rng = np.random.default_rng(i)
    T = np.eye(4)
    T[:3, 3] = [0.4 + 0.01 * i, 0.0, 0.3]
    proprio = Proprio(rng.normal(size=7), rng.normal(size=7), 0.04 + 0.001 * i, T)
    frames = {}
    for k, name in enumerate(cameras):
        K = np.array([[30.0, 0, W / 2], [0, 30.0, H / 2], [0, 0, 1]])
        T_cam = np.eye(4)
        T_cam[:3, 3] = [1.0, 0.0, 1.0 + k]
        depth = rng.uniform(0.3, 2.0, size=(H, W)).astype(np.float32)
        depth[0, 0] = np.nan  # a pixel without a return
        frames[name] = CameraFrame(
            CameraInfo(name, K, T_cam, W, H),
            rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8),
            depth,
            rng.integers(-1, 5, size=(H, W), dtype=np.int32) if k == 0 else None,
        )
    return Observation(0.3 + 0.1 * i, proprio, frames)


def make_scene(obs: Observation, i: int) -> Scene:
    tokens = tuple(
        ObjectToken(
            track_id=j,
            label=label,
            score=0.9 - 0.1 * j,
            position_m=[0.5, 0.1 * j, 0.02 + 0.001 * i],
            extent_m=[0.05, 0.04, 0.03],
            color_name="yellow",
            color_rgb=[0.9, 0.8, 0.1],
            yaw_rad=0.1 * j,
            category="fruit" if j == 0 else "container",
            name=f"{label}_{j}",
            mask=np.zeros((H, W), dtype=bool),
        )
        for j, label in enumerate(("banana", "bowl"))
    )
    return Scene(tokens, obs, flags=("invalid_depth:wrist",) if i % 2 else ())


def make_chunk(i: int, k: int = 4) -> ActionChunk:
    targets = np.zeros((k, 7))
    targets[:, 0] = np.linspace(0.4, 0.5, k) + 0.01 * i
    targets[:, 3] = 1.0
    return ActionChunk(targets, np.full(k, 0.08), confidence=0.75, dt_s=0.1)


def make_commands(i: int, n: int = 5) -> list[JointCommand]:
    rng = np.random.default_rng(1000 + i)
    return [JointCommand(rng.normal(size=7), np.zeros(7), 0.01 * j) for j in range(n)]


StepMessages = tuple[Observation, Scene, ActionChunk, list[JointCommand]]


def step_messages(i: int) -> StepMessages:
    """Everything `EpisodeWriter.write_step` takes for synthetic step `i`."""
    obs = make_observation(i)
    return obs, make_scene(obs, i), make_chunk(i), make_commands(i)


@pytest.fixture
def synthetic_step() -> Callable[[int], StepMessages]:
    return step_messages
