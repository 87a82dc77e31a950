"""The one place a stack is wired: world + perception + planner + skills + controller, by registry name.

    stack = StackConfig(world="kitchen", perception="yolo", skills="learned")
    world = build_world(seed, stack)          # a `World`: the robot, its cameras, its success check
    executor = build_executor(world, stack)   # the layers from their registries, the world's own check

Each layer's implementation is chosen by name and built from the typed config it registered (LeRobot's
pattern); `StackConfig.configs` overrides one, e.g. `{"skills": LearnedSkillsConfig(checkpoint=...)}`.
Tools that need a part of their own (a timed perception, a disturbed robot, an operator's keys as the
policy) pass it to `build_executor`, which still wires everything else, so there is one Executor
constructor in the code base: this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import hvla.controllers
import hvla.perception
import hvla.planner
import hvla.sim
import hvla.skills  # noqa: F401  (importing the layers registers their implementations)
from hvla.controllers.registry import CONTROLLERS
from hvla.core.errors import ConfigError
from hvla.core.registry import Registry
from hvla.core.threads import apply_thread_policy
from hvla.core.world import World
from hvla.orchestration.executor import Executor, ExecutorConfig, StepRecorder
from hvla.perception.base import PERCEPTION
from hvla.planner.registry import PLANNERS
from hvla.sim.registry import WORLDS
from hvla.skills.base import SKILL_POLICIES

REGISTRIES: dict[str, Registry] = {
    "world": WORLDS, "perception": PERCEPTION, "planner": PLANNERS, "skills": SKILL_POLICIES, "controller": CONTROLLERS,
}


@dataclass(frozen=True)
class StackConfig:
    """Which implementation runs each layer (registry names), their configs, and the cameras' image size."""

    world: str = "kitchen"
    perception: str = "yolo"  # the trained front end; "oracle" reads simulator truth
    planner: str = "offline"
    skills: str = "scripted"
    controller: str = "cartesian"
    image_size: int = 128  # at least; a learned perception's own input size wins where larger
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    # layer -> a config of the type its implementation registered (absent: that type's defaults)
    configs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def validate(self) -> None:
        """Fail before anything is built when a name is unknown or a config is of the wrong type."""
        unknown = set(self.configs) - set(REGISTRIES)
        if unknown:
            raise ConfigError(f"configs for unknown layers {sorted(unknown)}; layers: {list(REGISTRIES)}")
        for layer, registry in REGISTRIES.items():
            registry.check_config(getattr(self, layer), self.configs.get(layer))

    def config(self, layer: str) -> Any:
        """The config `layer` is built from (the registered type's defaults unless overridden)."""
        registry, name = REGISTRIES[layer], getattr(self, layer)
        given = self.configs.get(layer)
        if given is not None:
            return given
        kind = registry.config_type(name)
        return kind() if kind is not None else None

    def with_config(self, layer: str, config: Any) -> StackConfig:
        return replace(self, configs={**self.configs, layer: config})

    def build(self, layer: str, **parts: Any) -> Any:
        """One layer's implementation, from its name and config (`parts`: run-time objects it takes)."""
        self.validate()
        return REGISTRIES[layer].build(getattr(self, layer), self.configs.get(layer), **parts)


def render_size(stack: StackConfig) -> int:
    """Render at `image_size`, or at the resolution a learned perception was trained for (yolo: 224 px)
    where that is more: never less than the front end expects."""
    return max(stack.image_size, getattr(PERCEPTION.get(stack.perception), "image_size", 0))


def build_world(seed: int, stack: StackConfig, scene: Any = None) -> World:
    """The world of `seed`; `scene` replaces the world config's scene sampler settings (kitchen: a SceneConfig)."""
    stack.validate()
    config = stack.config("world")
    if scene is not None:
        if not hasattr(config, "scene"):
            raise ConfigError(f"world '{stack.world}' takes no scene settings; set them in its config")
        config = replace(config, scene=scene)
    return WORLDS.build(stack.world, config, seed=seed, image_size=render_size(stack))


def build_skills(stack: StackConfig, world: World) -> Any:
    """The skill policy, with what only the world knows filled in where its config leaves it open (None):
    the gripper's fingertips relative to its TCP, which scripted grasps keep clear of the support, and how
    deep below a rim its pads hold a vessel."""
    config = stack.config("skills")
    from_world = {"fingertip_above_tcp_m": world.fingertip_above_tcp_m, "rim_depth_m": world.rim_grasp_depth_m}
    if config is not None:
        config = _with_geometry(config, from_world)
        if getattr(config, "world", "") is None:  # a learned policy's committed checkpoint is its world's
            config = replace(config, world=stack.world)
    policy = SKILL_POLICIES.build(stack.skills, config)
    trained = getattr(policy, "trained_world", None)
    if trained is not None and trained != stack.world:
        raise ConfigError(f"the skill policy's checkpoint was trained in world '{trained}', this stack runs world "
                          f"'{stack.world}': give a checkpoint trained there (`hvla train policy` on its datasets)")
    return policy


def _with_geometry(config: Any, from_world: dict[str, float]) -> Any:
    """`config` with the gripper fields it leaves open (None) set from the world, its scripted fallback's too."""
    open_fields = {k: v for k, v in from_world.items() if hasattr(config, k) and getattr(config, k) is None}
    if getattr(config, "fallback", None) is not None:
        open_fields["fallback"] = _with_geometry(config.fallback, from_world)
    return replace(config, **open_fields) if open_fields else config


def build_planner(stack: StackConfig, world: World) -> Any:
    """The planner, told whose left "left" is where its config leaves it open: the world knows from where its
    instructions are spoken (`World.speaker_left_xy`)."""
    config = stack.config("planner")
    left = getattr(world, "speaker_left_xy", None)
    if config is not None and left is not None:
        config = _with_left(config, tuple(float(v) for v in left))
    return PLANNERS.build(stack.planner, config)


def _with_left(config: Any, left: tuple[float, float]) -> Any:
    """`config` with its grounding's `left_xy` set where it is None (nested: offline -> rules -> grounding)."""
    if hasattr(config, "left_xy"):
        return replace(config, left_xy=left) if config.left_xy is None else config
    for name in ("rules", "grounding"):
        if hasattr(config, name):
            return replace(config, **{name: _with_left(getattr(config, name), left)})
    return config


def build_controller(stack: StackConfig, world: World) -> Any:
    """The controller, its workspace floor at the world's table top where that is lower than its config's (the
    kitchen's table is at the base's height, LIBERO's 1.2 cm below it: a flat box there is grasped below 0)."""
    config = stack.config("controller")
    table_z = getattr(world, "table_z_m", None)
    safety = getattr(config, "safety", None)
    if table_z is not None and safety is not None and table_z < safety.workspace_min_m[2]:
        lo = (*safety.workspace_min_m[:2], float(table_z))
        config = replace(config, safety=replace(safety, workspace_min_m=lo))
    return CONTROLLERS.build(stack.controller, config)


FROM_STACK: Any = object()  # build_executor's "build this part from the stack" (None means: no planner)


def build_executor(world: World, stack: StackConfig, recorder: StepRecorder | None = None, *, robot: Any = None,
                   perception: Any = None, policy: Any = None, planner: Any = FROM_STACK, **executor_fields: Any
                   ) -> Executor:
    """The executor over `world`, each layer from `stack` unless a part is given.

    `robot` wraps the world (fault injection, disturbances); the success check stays the world's own.
    `planner=None` runs given plans only (roll-outs, teleoperation: no language model loaded).
    `executor_fields` are the Executor's other fields (monitors, approve, events).
    """
    stack.validate()
    executor = Executor(
        robot=robot if robot is not None else world,
        perception=perception if perception is not None else stack.build("perception"),
        policy=policy if policy is not None else build_skills(stack, world),
        controller=build_controller(stack, world),
        planner=build_planner(stack, world) if planner is FROM_STACK else planner,
        config=stack.executor,
        recorder=recorder,
        success=world.succeeded,
        **executor_fields,
    )
    apply_thread_policy()  # every runtime the layers loaded, one pool size (core/threads.py)
    return executor
