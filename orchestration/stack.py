"""Builds the layered stack from registry names: the one place where layers are wired together."""

from __future__ import annotations

from dataclasses import dataclass, field

import hvla.controllers
import hvla.perception
import hvla.planner
import hvla.skills  # noqa: F401  (importing the layers registers their implementations)
from hvla.controllers.registry import CONTROLLERS
from hvla.orchestration.executor import Executor, ExecutorConfig, StepRecorder
from hvla.perception.base import PERCEPTION
from hvla.planner.registry import PLANNERS
from hvla.sim.scene import SceneConfig
from hvla.sim.world import KitchenWorld, SimConfig
from hvla.skills.base import SKILL_POLICIES


@dataclass(frozen=True)
class StackConfig:
    """Which implementation runs each layer (registry names), and the simulator's image size."""

    perception: str = "yolo"  # the trained front end; "oracle" reads simulator truth
    planner: str = "offline"
    skills: str = "scripted"
    controller: str = "cartesian"
    image_size: int = 128
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def validate(self) -> None:
        """Fail before anything is built when a name is unknown."""
        PERCEPTION.get(self.perception)
        PLANNERS.get(self.planner)
        SKILL_POLICIES.get(self.skills)
        CONTROLLERS.get(self.controller)


def sim_config_for(perception: str, image_size: int = SimConfig.image_height) -> SimConfig:
    """Render at `image_size`, or at the resolution a learned perception was trained for (yolo: 224 px)
    where that is more: never less than the front end expects."""
    size = max(image_size, getattr(PERCEPTION.get(perception), "image_size", 0))
    return SimConfig(image_height=size, image_width=size)


def build_world(seed: int, config: StackConfig, scene: SceneConfig | None = None) -> KitchenWorld:
    return KitchenWorld(seed=seed, scene=scene, config=sim_config_for(config.perception, config.image_size))


def build_executor(world: KitchenWorld, config: StackConfig, recorder: StepRecorder | None = None) -> Executor:
    config.validate()
    return Executor(
        robot=world,
        perception=PERCEPTION.get(config.perception)(),
        policy=SKILL_POLICIES.get(config.skills)(),
        controller=CONTROLLERS.get(config.controller)(),
        planner=PLANNERS.get(config.planner)(),
        config=config.executor,
        recorder=recorder,
    )
