from gymnasium.utils.env_checker import check_env

from hvla.sim.gym_env import KitchenEnv


def test_gym_env_passes_check_env():
    env = KitchenEnv(action_repeat=5, max_steps=5)
    check_env(env, skip_render_check=True)
    env.close()
