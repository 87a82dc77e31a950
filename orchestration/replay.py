"""Replay a logged episode: re-send its joint commands open loop to a fresh world built from its seed.

The sim is deterministic, so a faithful log replays to the logged final pose exactly; a gap says the
log missed commands (or something moved the robot outside `Robot.command`, e.g. a reset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import DatasetError
from hvla.core.messages import Proprio
from hvla.core.robot import JointCommand, Robot
from hvla.orchestration.episode_log import Episode, iter_step_images

WorldFactory = Callable[[int], Robot]


@dataclass(frozen=True)
class ReplayResult:
    """How far the replayed end effector ended from the logged one."""

    position_error_m: float
    rotation_error_rad: float
    n_commands: int
    reference: str  # "final" (proprio logged by finish) or "step N" (observation that began step N)
    initial_position_error_m: float  # fresh world vs the first logged observation; > 0 means a different start
    T_world_ee: NDArray[np.float64]  # (4, 4) replayed final pose


def _kitchen_world(seed: int) -> Robot:
    from hvla.sim.world import KitchenWorld  # imported here: loading a log must not need MuJoCo

    return KitchenWorld(seed=seed)


def _pose_error(T_a: NDArray, T_b: NDArray) -> tuple[float, float]:
    pos = float(np.linalg.norm(T_a[:3, 3] - T_b[:3, 3]))
    cos = (np.trace(T_a[:3, :3].T @ T_b[:3, :3]) - 1.0) / 2.0
    return pos, float(np.arccos(np.clip(cos, -1.0, 1.0)))


def replay(episode: Episode, world_factory: WorldFactory | None = None) -> ReplayResult:
    """Send every logged joint command to `world_factory(meta["seed"])` (default `KitchenWorld`).

    The reference pose is the proprio `finish()` logged; for an episode that ended without one, the
    commands up to the last step are replayed and compared with that step's observation.

    Raises:
        DatasetError: when the episode has no seed in its meta or nothing to compare against.
    """
    if "seed" not in episode.meta:
        raise DatasetError(f"episode {episode.episode_id}: meta has no 'seed'; cannot rebuild its world")
    if episode.final_proprio is not None:
        steps, reference, ref = episode.steps, "final", episode.final_proprio
    elif episode.steps:
        steps, reference = episode.steps[:-1], f"step {episode.steps[-1].index}"
        ref = episode.steps[-1].observation.proprio
    else:
        raise DatasetError(f"episode {episode.episode_id}: no steps and no final proprio to replay against")

    world = (world_factory or _kitchen_world)(int(episode.meta["seed"]))
    try:
        start: Proprio = world.observe(cameras=()).proprio
        first = episode.steps[0].observation.proprio if episode.steps else ref
        initial_error_m = float(np.linalg.norm(start.ee_position_m - first.ee_position_m))
        n = 0
        for step in steps:
            for q, dq, gripper in zip(step.command_q_rad, step.command_dq_radps, step.command_gripper_m):
                world.command(JointCommand(q, dq, float(gripper)))
                n += 1
        T_world_ee = world.observe(cameras=()).proprio.T_world_ee
    finally:
        close = getattr(world, "close", None)
        if callable(close):
            close()
    pos_err, rot_err = _pose_error(T_world_ee, ref.T_world_ee)
    return ReplayResult(pos_err, rot_err, n, reference, initial_error_m, np.array(T_world_ee))


def iter_frames(episode: Episode, camera: str = "scene") -> Iterator[NDArray[np.uint8]]:
    """(H, W, 3) uint8 RGB images of `camera`, one per logged step, e.g. to write a video with imageio."""
    return iter_step_images(episode, camera)
