"""A gymnasium wrapper around `KitchenWorld`, for RL tooling and `check_env`.

Action: 7 joint position targets [rad] + gripper opening [m], held for `action_repeat` control
periods. Observation: joint angles, velocities, gripper, TCP position, and a fixed-size table of
object positions (padded with zeros). Reward: 1 when the task predicate holds, else 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from hvla.core import panda
from hvla.core.robot import JointCommand
from hvla.sim import predicates
from hvla.sim.scene import SceneConfig
from hvla.sim.world import KitchenWorld, SimConfig

MAX_OBJECTS = 12


class KitchenEnv(gym.Env):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        task: tuple[str, str] = ("banana", "bowl"),
        scene: SceneConfig | None = None,
        action_repeat: int = 50,
        max_steps: int = 200,
        render_mode: str | None = None,
    ) -> None:
        self.task = task
        self.scene_config = scene
        self.action_repeat = action_repeat
        self.max_steps = max_steps
        self.render_mode = render_mode
        lo = np.r_[panda.Q_MIN_RAD, 0.0].astype(np.float32)
        hi = np.r_[panda.Q_MAX_RAD, panda.GRIPPER_MAX_M].astype(np.float32)
        self.action_space = gym.spaces.Box(lo, hi, dtype=np.float32)
        size = 7 + 7 + 1 + 3 + 3 * MAX_OBJECTS
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self.world: KitchenWorld | None = None
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        scene_seed = int(self.np_random.integers(0, 2**31 - 1))
        if self.world is not None:
            self.world.close()
        self.world = KitchenWorld(scene_seed, self.scene_config, SimConfig())
        self._steps = 0
        return self._obs(), {"seed": scene_seed, "objects": self.world.layout.names()}

    def step(self, action: np.ndarray):
        if self.world is None:
            raise RuntimeError("call reset() before step()")
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        cmd = JointCommand(action[:7], np.zeros(7), float(action[7]))
        for _ in range(self.action_repeat):
            self.world.command(cmd)
        self._steps += 1
        truth = self.world.truth()
        obj, target = self.task
        success = obj in self.world.layout.names() and predicates.is_in(truth, obj, target)
        truncated = self._steps >= self.max_steps
        return self._obs(), float(success), bool(success), truncated, {"success": success}

    def _obs(self) -> np.ndarray:
        assert self.world is not None
        p = self.world.proprio()
        table = np.zeros((MAX_OBJECTS, 3))
        for i, o in enumerate(self.world.truth().objects[:MAX_OBJECTS]):
            table[i] = o.position_m
        return np.concatenate([p.q_rad, p.dq_radps, [p.gripper_m], p.ee_position_m, table.ravel()]).astype(
            np.float32
        )

    def render(self) -> np.ndarray | None:
        if self.world is None or self.render_mode != "rgb_array":
            return None
        return self.world.render("scene").rgb

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None
