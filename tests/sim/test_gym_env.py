import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import hvla.sim
from hvla.core import panda
from hvla.core.errors import ConfigError
from hvla.sim import gym_obs
from hvla.sim.gym_env import KitchenEnv
from hvla.sim.objects import CLASSES

PICK_PLACE, PICK = hvla.sim.ENV_IDS


def _teleport(env: gym.Env, name: str, position_m) -> None:
    """Put object `name` at `position_m` at rest (a test shortcut for a successful policy)."""
    world = env.unwrapped.world
    joint = world.model.body(name).jntadr[0]  # the object's free joint
    qpos, dof = world.model.jnt_qposadr[joint], world.model.jnt_dofadr[joint]
    world.data.qpos[qpos : qpos + 3] = position_m
    world.data.qvel[dof : dof + 6] = 0.0


@pytest.mark.parametrize(("env_id", "steps"), [(PICK_PLACE, 200), (PICK, 100)])
def test_ids_are_registered_with_their_time_limit(env_id, steps):
    env = gym.make(env_id)
    assert isinstance(env.unwrapped, KitchenEnv)
    assert env.spec.max_episode_steps == steps
    env.close()


def test_module_prefixed_id_imports_hvla_sim_itself():
    env = gym.make(f"hvla.sim:{PICK_PLACE}")
    assert env.spec.id == PICK_PLACE
    env.close()


def test_action_space_is_normalised_and_observation_space_bounded():
    env = gym.make(PICK_PLACE)
    act, obs = env.action_space, env.observation_space
    assert act.shape == (8,) and act.dtype == np.float32
    assert (act.low == -1).all() and (act.high == 1).all()
    assert obs.dtype == np.float32 and obs.shape == (gym_obs.SEGMENTS["objects"].stop,)
    assert np.isfinite(obs.low).all() and np.isfinite(obs.high).all() and (obs.low < obs.high).all()
    lo, hi = obs.low[gym_obs.SEGMENTS["q_target_rad"]], obs.high[gym_obs.SEGMENTS["q_target_rad"]]
    np.testing.assert_allclose(lo, panda.Q_MIN_RAD + panda.COMMAND_MARGIN_RAD, atol=1e-6)
    np.testing.assert_allclose(hi, panda.Q_MAX_RAD - panda.COMMAND_MARGIN_RAD, atol=1e-6)
    env.close()


def test_observations_stay_in_space_over_a_saturated_random_rollout():
    env = gym.make(PICK_PLACE, max_episode_steps=40)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(np.sign(rng.uniform(-1, 1, 8)).astype(np.float32))
        assert env.observation_space.contains(obs)
        done = terminated or truncated
    assert truncated and reward == 0.0
    env.close()


def test_actions_are_deltas_of_the_joint_target_and_the_gripper_is_absolute():
    env = gym.make(PICK_PLACE)
    obs, _ = env.reset(seed=1)
    target = gym_obs.SEGMENTS["q_target_rad"]
    zero = np.zeros(8, np.float32)
    zero[7] = -1.0  # close
    held, *_ = env.step(zero)
    np.testing.assert_allclose(held[target], obs[target])
    nudge = zero.copy()
    nudge[0] = 0.5
    moved, *_ = env.step(nudge)
    np.testing.assert_allclose(moved[target] - held[target], [0.05, 0, 0, 0, 0, 0, 0], atol=1e-6)
    for _ in range(3):
        closed, *_ = env.step(zero)
    assert closed[gym_obs.SEGMENTS["gripper_m"]][0] < 0.01
    env.close()


def test_object_rows_carry_class_and_presence_in_fixed_slots():
    assert set(CLASSES) <= set(gym_obs.CLASS_ORDER)
    env = gym.make(PICK_PLACE)
    obs, info = env.reset(seed=5)
    rows = obs[gym_obs.SEGMENTS["objects"]].reshape(len(gym_obs.OBJECT_SLOTS), gym_obs.ROW)
    truth = env.unwrapped.world.truth()
    assert "banana" in info["objects"] and len(info["objects"]) < len(gym_obs.OBJECT_SLOTS)
    for slot, row in zip(gym_obs.OBJECT_SLOTS, rows):
        if slot not in info["objects"]:
            assert not row.any(), slot
            continue
        state = truth.object(slot)
        assert row[gym_obs.ROW_PRESENT] == 1.0
        one_hot = row[gym_obs.ROW_CLASS]
        assert one_hot.sum() == 1.0 and gym_obs.CLASS_ORDER[int(one_hot.argmax())] == state.label
        np.testing.assert_allclose(row[gym_obs.ROW_POSITION], state.position_m, atol=1e-6)
        np.testing.assert_allclose(row[gym_obs.ROW_YAW], [np.cos(state.yaw_rad), np.sin(state.yaw_rad)], atol=1e-6)
    env.close()


def test_dense_reward_is_shaped_sparse_is_not_and_both_pay_one_and_terminate_on_success():
    rewards = {}
    for mode in ("sparse", "dense"):
        env = gym.make(PICK_PLACE, reward=mode)
        env.reset(seed=2)
        hold = np.r_[np.zeros(7), 1.0].astype(np.float32)
        _, far, terminated, *_ = env.step(hold)
        assert not terminated
        world = env.unwrapped.world
        banana, bowl = world.truth().object("banana").position_m, world.truth().object("bowl").position_m
        _teleport(env, "banana", [*(0.5 * (banana[:2] + bowl[:2])), banana[2]])
        _, near, terminated, *_ = env.step(hold)
        assert not terminated
        _teleport(env, "banana", bowl + np.array([0.0, 0.0, 0.03]))
        _, done, terminated, truncated, info = env.step(hold)
        assert terminated and not truncated and info["is_success"] and done == 1.0
        rewards[mode] = (far, near)
        env.close()
    assert rewards["sparse"] == (0.0, 0.0)
    far, near = rewards["dense"]
    assert 0.0 < far < near < 1.0


def test_pick_is_no_success_when_the_object_is_lifted_but_not_held():
    env = gym.make(PICK, reward="dense")
    env.reset(seed=2)
    banana = env.unwrapped.world.truth().object("banana").position_m
    _teleport(env, "banana", banana + np.array([0.0, 0.0, 0.1]))  # lifted but not held: falls, no success
    _, reward, terminated, *_ = env.step(np.r_[np.zeros(7), 1.0].astype(np.float32))
    assert not terminated and 0.0 < reward < 1.0
    env.close()


def test_time_limit_truncates():
    env = gym.make(PICK, max_episode_steps=2)
    env.reset(seed=0)
    hold = np.zeros(8, np.float32)
    assert env.step(hold)[3] is False
    _, _, terminated, truncated, _ = env.step(hold)
    assert truncated and not terminated
    env.close()


@pytest.mark.parametrize("env_id", [PICK_PLACE, PICK])
def test_check_env_of_stable_baselines3_and_gymnasium_pass_without_warnings(env_id):
    env = gym.make(env_id, reward="dense")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env)
        gymnasium_check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_reset_with_a_seed_is_deterministic():
    env = gym.make(PICK_PLACE, reward="dense")
    actions = np.random.default_rng(4).uniform(-1, 1, (5, 8)).astype(np.float32)

    def rollout(seed):
        obs, info = env.reset(seed=seed)
        steps = [env.step(a)[:2] for a in actions]
        return obs, info["kitchen_seed"], np.array([o for o, _ in steps]), [r for _, r in steps]

    first, again, other = rollout(11), rollout(11), rollout(12)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1] != other[1]
    np.testing.assert_array_equal(first[2], again[2])
    assert first[3] == again[3]
    env.close()


def test_a_task_outside_the_kitchen_or_an_unknown_reward_is_refused():
    with pytest.raises(ConfigError, match="reward"):
        KitchenEnv(reward="shaped")
    with pytest.raises(ConfigError, match=r"scene\.required"):
        KitchenEnv(obj="mango")  # optional: absent from most kitchens


def test_nothing_renders_unless_asked():
    env = gym.make(PICK_PLACE)
    env.reset(seed=0)
    assert env.unwrapped.render() is None and env.unwrapped.world._rig is None
    env.close()


@pytest.mark.render
def test_rgb_array_render_returns_the_scene_image():
    env = gym.make(PICK_PLACE, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.std() > 0
    env.close()
