"""sim: the worlds the stack runs in: hvla's MuJoCo kitchen, its predicates, and its gymnasium envs.

Importing `hvla.sim` registers the kitchen as world "kitchen" and LIBERO's tasks as world "libero" in
`WORLDS` (the builder's registry of worlds), and the gymnasium ids below. Gymnasium 1.x loads no plugin entry points
(`gymnasium.envs` entry points were dropped in 1.0), so registration happens here, on import; without
importing hvla first, `gym.make("hvla.sim:hvla/KitchenPickPlace-v0")` imports this module itself.
The gym entry points are strings: registering them builds no env.
"""

from __future__ import annotations

import gymnasium as gym

from hvla.sim import libero as _libero  # noqa: F401  (registers world "libero"; its server starts on use)
from hvla.sim.registry import WORLDS
from hvla.sim.scene import SceneConfig
from hvla.sim.world import CAMERAS, KitchenConfig, KitchenWorld, SimConfig

__all__ = ["CAMERAS", "ENV_IDS", "WORLDS", "KitchenConfig", "KitchenWorld", "SceneConfig", "SimConfig"]

ENV_IDS = ("hvla/KitchenPickPlace-v0", "hvla/KitchenPick-v0")


def _register() -> None:
    for env_id, kwargs, steps in (
        (ENV_IDS[0], {"obj": "banana", "target": "bowl"}, 200),
        (ENV_IDS[1], {"obj": "banana", "target": None}, 100),
    ):
        if env_id not in gym.registry:  # a reload must not warn about overriding
            gym.register(env_id, entry_point="hvla.sim.gym_env:KitchenEnv", kwargs=kwargs, max_episode_steps=steps)


_register()
