"""Replay: logged joint commands re-run open loop on a fresh KitchenWorld land where the log says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hvla.core import panda
from hvla.core.errors import DatasetError
from hvla.core.robot import JointCommand
from hvla.orchestration.episode_log import EpisodeWriter, load_episode
from hvla.orchestration.replay import iter_frames, replay
from hvla.sim.world import KitchenWorld

SEED = 5
STEPS, COMMANDS_PER_STEP = 4, 25  # 100 control periods of 2 ms


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A short episode: the arm swings towards an offset pose and the gripper closes."""
    root = tmp_path_factory.mktemp("episodes")
    world = KitchenWorld(seed=SEED)
    offset = np.array([0.3, -0.2, 0.1, 0.2, -0.1, 0.2, 0.3])
    with EpisodeWriter(root, meta={"seed": SEED}, durable=False) as log:
        for s in range(STEPS):
            obs = world.observe(cameras=())
            sent = []
            for c in range(COMMANDS_PER_STEP):
                a = (s * COMMANDS_PER_STEP + c + 1) / (STEPS * COMMANDS_PER_STEP)
                sent.append(JointCommand(panda.Q_READY_RAD + a * offset, np.zeros(7), 0.08 * (1 - a)))
                world.command(sent[-1])
            log.write_step(obs, commands=sent, subgoal_id="swing")
        log.finish(True, final_observation=world.observe(cameras=()))
    return load_episode(log.path)


def test_replay_of_a_deterministic_sim_is_exact(logged):
    result = replay(logged)
    assert result.n_commands == STEPS * COMMANDS_PER_STEP and result.reference == "final"
    assert result.initial_position_error_m == 0.0
    assert result.position_error_m < 1e-3 and result.rotation_error_rad < 1e-3
    moved = np.linalg.norm(logged.final_proprio.ee_position_m - logged.steps[0].observation.proprio.ee_position_m)
    assert moved > 0.02  # the arm did go somewhere, so a zero error means something


def test_replay_notices_missing_commands(logged):
    steps = list(logged.steps)
    last = steps[-1]
    steps[-1] = dataclasses.replace(
        last,
        command_q_rad=last.command_q_rad[:5],
        command_dq_radps=last.command_dq_radps[:5],
        command_gripper_m=last.command_gripper_m[:5],
    )
    result = replay(dataclasses.replace(logged, steps=steps))
    assert result.position_error_m > 1e-3


def test_an_unfinished_episode_replays_against_its_last_observation(logged):
    unfinished = dataclasses.replace(logged, final_proprio=None, incomplete=True)
    result = replay(unfinished)
    assert result.reference == f"step {STEPS - 1}" and result.n_commands == (STEPS - 1) * COMMANDS_PER_STEP
    assert result.position_error_m < 1e-3


def test_replay_needs_a_seed(logged):
    with pytest.raises(DatasetError, match="no 'seed'"):
        replay(dataclasses.replace(logged, meta={}))


def test_iter_frames_yields_the_logged_images(tmp_path):
    world = KitchenWorld(seed=SEED)
    with EpisodeWriter(tmp_path, meta={"seed": SEED}, durable=False) as log:
        try:
            obs = [world.observe(cameras=("scene",)) for _ in range(2)]
        except Exception as err:  # no offscreen OpenGL on this machine
            pytest.skip(f"cannot render: {err}")
        for o in obs:
            log.write_step(o)
        log.finish(True)
    episode = load_episode(log.path, images=False)
    frames = list(iter_frames(episode, "scene"))
    assert len(frames) == 2
    np.testing.assert_array_equal(frames[0], obs[0].frames["scene"].rgb)
    with pytest.raises(DatasetError, match="no camera 'wrist'"):
        next(iter_frames(episode, "wrist"))
