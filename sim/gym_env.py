"""`KitchenEnv`: `KitchenWorld` as a gymnasium env, shaped the way RL libraries (stable-baselines3) expect.

Registered ids (on `import hvla.sim`; see sim/__init__.py): `hvla/KitchenPickPlace-v0` (banana into the
bowl, 200 steps) and `hvla/KitchenPick-v0` (grasp the banana and lift it 5 cm, 100 steps).

Action: Box(-1, 1, (8,), float32).
    a[:7]  joint position target deltas: target += a * max_delta_rad per step (0.1 rad by default), the
           target kept within the joint limits less COMMAND_MARGIN_RAD and within 2 * max_delta_rad
           of the measured angles (no wind-up against a contact). Deltas, not absolute targets:
           a zero action holds the pose, and a random policy explores near where it is.
    a[7]   gripper opening, absolute: -1 closed .. +1 open (GRIPPER_MAX_M).
    One step lasts `action_repeat` control periods (50 x 2 ms = 0.1 s); the target moves linearly
    over them with a matching feed-forward velocity, so the servo sees no jumps.
Observation: see sim/gym_obs.py (bounded, float32, object rows with identity).
Reward: "sparse" is 1 when the task predicate holds, else 0. "dense" is 1 on success, else
    0.25 reach + 0.25 grasped + 0.4 place, with reach = 1 - tanh(5 |obj - tcp|) and
    place = 1 - tanh(5 |goal - obj|): in [0, 1), rising toward grasping the object and moving it to the goal.
Terminated when the predicate holds; truncation is the TimeLimit of the registration (a `KitchenEnv`
built directly never truncates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from hvla.core import panda
from hvla.core.errors import ConfigError, HvlaError
from hvla.core.messages import WorldTruth
from hvla.core.robot import JointCommand
from hvla.sim import gym_obs, predicates
from hvla.sim.objects import CLASSES, GRASPABLE
from hvla.sim.scene import SINK_CENTER_M, SceneConfig
from hvla.sim.world import KitchenWorld, SimConfig

REWARDS = ("sparse", "dense")
PLACE_TARGETS = ("bowl", "cup", "plate", "sink")
_SINK_GOAL_M = np.array([*SINK_CENTER_M, 0.03])


@dataclass(frozen=True)
class KitchenEnvConfig:
    """One task: put `obj` into `target`, or (target None) grasp `obj` and lift it `lift_m`."""

    obj: str = "banana"
    target: str | None = "bowl"
    reward: str = "sparse"
    action_repeat: int = 50  # control periods per step
    max_delta_rad: float = 0.1  # joint target change per step at |a| = 1
    lift_m: float = 0.05
    scene: SceneConfig = field(default_factory=SceneConfig)

    def __post_init__(self) -> None:
        if self.reward not in REWARDS:
            raise ConfigError(f"reward={self.reward!r}; choose one of {list(REWARDS)}")
        if self.obj not in GRASPABLE or self.obj == "block":
            named = [g for g in GRASPABLE if g != "block"]
            raise ConfigError(f"obj={self.obj!r} is not a graspable object; choose one of {named}")
        if self.target is not None and self.target not in PLACE_TARGETS:
            raise ConfigError(f"target={self.target!r}; choose one of {list(PLACE_TARGETS)} or None (pick)")
        # The task's objects must be in every kitchen the env draws, else some episodes are unsolvable.
        for name in (self.obj, self.target):
            if name not in (None, "sink") and (name not in self.scene.required or name in self.scene.exclude):
                raise ConfigError(f"{name!r} must be in scene.required {list(self.scene.required)}")
        if self.scene.distractors[1] > gym_obs.MAX_BLOCKS:
            raise ConfigError(f"scene.distractors={self.scene.distractors}: the observation has slots for "
                              f"{gym_obs.MAX_BLOCKS} blocks")
        if not set(CLASSES) <= set(gym_obs.CLASS_ORDER):
            raise ConfigError(f"classes {sorted(set(CLASSES) - set(gym_obs.CLASS_ORDER))} have no one-hot column")
        if self.action_repeat < 1:
            raise ConfigError(f"action_repeat={self.action_repeat} must be >= 1")
        if not 0 < self.max_delta_rad <= 0.5:
            raise ConfigError(f"max_delta_rad={self.max_delta_rad} must be in (0, 0.5]")
        if not 0 < self.lift_m <= 0.3:
            raise ConfigError(f"lift_m={self.lift_m} must be in (0, 0.3]")


class KitchenEnv(gym.Env):
    """The kitchen as a gymnasium env; a new seeded kitchen is drawn on every reset."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        obj: str = "banana",
        target: str | None = "bowl",
        reward: str = "sparse",
        action_repeat: int = 50,
        max_delta_rad: float = 0.1,
        scene: SceneConfig | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.config = KitchenEnvConfig(obj, target, reward, action_repeat, max_delta_rad,
                                       scene=scene or SceneConfig())
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ConfigError(f"render_mode={render_mode!r}; modes: {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(8,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(gym_obs.OBS_LOW, gym_obs.OBS_HIGH, dtype=np.float32)
        self.world: KitchenWorld | None = None
        self._q_target = panda.Q_READY_RAD.copy()
        self._start_m = np.zeros(3)  # the task object's rest position after reset

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """A new kitchen, drawn from the env's RNG (or `options["kitchen_seed"]`), the arm at the ready pose."""
        super().reset(seed=seed)
        kitchen_seed = int((options or {}).get("kitchen_seed", self.np_random.integers(0, 2**31 - 1)))
        self.close()
        self.world = KitchenWorld(kitchen_seed, self.config.scene, SimConfig())
        self._q_target = np.clip(panda.Q_READY_RAD, *gym_obs.q_target_bounds_rad())  # the world's setpoint
        truth = self.world.truth()
        self._start_m = truth.object(self.config.obj).position_m.copy()
        info = {"kitchen_seed": kitchen_seed, "objects": self.world.layout.names()}
        return self._obs(truth), info

    def step(self, action: NDArray):
        if self.world is None:
            raise HvlaError("call reset() before step()")
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self._move(a[:7] * self.config.max_delta_rad, (a[7] + 1.0) / 2.0 * panda.GRIPPER_MAX_M)
        truth = self.world.truth()
        success = self._success(truth)
        reward = 1.0 if success else (self._shaped(truth) if self.config.reward == "dense" else 0.0)
        return self._obs(truth), reward, success, False, {"is_success": success}

    def _move(self, delta_rad: NDArray, gripper_m: float) -> None:
        assert self.world is not None
        lo, hi = gym_obs.q_target_bounds_rad()
        q = self.world.proprio().q_rad
        lag = 2.0 * self.config.max_delta_rad
        goal = np.clip(np.clip(self._q_target + delta_rad, q - lag, q + lag), lo, hi)
        n = self.config.action_repeat
        dq = (goal - self._q_target) / (n * self.world.control_dt_s)
        for k in range(1, n + 1):
            self.world.command(JointCommand(self._q_target + (goal - self._q_target) * k / n, dq, gripper_m))
        self._q_target = goal

    def _goal_m(self, truth: WorldTruth) -> NDArray[np.float64]:
        target = self.config.target
        if target is None:
            return self._start_m + np.array([0.0, 0.0, self.config.lift_m])
        return _SINK_GOAL_M if target == "sink" else truth.object(target).position_m

    def _success(self, truth: WorldTruth) -> bool:
        obj, target = self.config.obj, self.config.target
        if target is not None:
            return predicates.is_in(truth, obj, target)
        lifted = truth.object(obj).position_m[2] >= self._start_m[2] + self.config.lift_m
        return predicates.is_grasped(truth, obj) and bool(lifted)

    def _shaped(self, truth: WorldTruth) -> float:
        assert self.world is not None
        obj_m = truth.object(self.config.obj).position_m
        reach = 1.0 - np.tanh(5.0 * np.linalg.norm(obj_m - self.world.proprio().ee_position_m))
        place = 1.0 - np.tanh(5.0 * np.linalg.norm(self._goal_m(truth) - obj_m))
        grasped = float(truth.grasped == self.config.obj)
        return float(0.25 * reach + 0.25 * grasped + 0.4 * place)

    def _obs(self, truth: WorldTruth) -> NDArray[np.float32]:
        assert self.world is not None
        return gym_obs.encode(self.world.proprio(), self._q_target, truth, self.config.obj, self._goal_m(truth))

    def render(self) -> NDArray[np.uint8] | None:
        if self.world is None or self.render_mode != "rgb_array":
            return None
        return self.world.render("scene").rgb

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None
