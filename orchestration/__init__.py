"""Orchestration: the top floor. The builder wires a stack (world + perception + planner + skills +
controller); the executor runs its 10 Hz loop with monitors and recovery; episode logs, the CLI, the
operator console and the tools that run whole stacks (roll-outs, recording, teleoperation, training
commands) live here, since only this floor may import every layer.

Public API:
    StackConfig, build_world, build_executor, Executor, ExecutorConfig, EpisodeResult, SubgoalResult,
    Monitor, default_monitors
"""

from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.executor import EpisodeResult, Executor, ExecutorConfig, SubgoalResult
from hvla.orchestration.monitors import Monitor, default_monitors

__all__ = [
    "EpisodeResult",
    "Executor",
    "ExecutorConfig",
    "Monitor",
    "StackConfig",
    "SubgoalResult",
    "build_executor",
    "build_world",
    "default_monitors",
]
