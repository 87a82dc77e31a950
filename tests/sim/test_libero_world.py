"""hvla's whole stack in a LIBERO scene: the builder wires world "libero", LIBERO's own check decides.

Needs the LIBERO venv (`make test` builds it with `make libero-venv`). The episode tests share the process's
LIBERO server (one env, libero_object task 0); the death test gets a server of its own.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from hvla.core.errors import ConfigError, LiberoError
from hvla.orchestration import StackConfig, build_executor, build_world
from hvla.sim.libero import LiberoConfig, LiberoServerConfig

PYTHON, _ = LiberoServerConfig().resolve_python()
pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(
    not PYTHON.is_file(), reason=f"LIBERO venv missing ({PYTHON}): run `make libero-venv`")]


def stack(suite: str = "libero_object", task: int = 0, init_index: int | None = 0, **server) -> StackConfig:
    config = LiberoConfig(suite, task, init_index, LiberoServerConfig(**server))
    return StackConfig(world="libero", perception="oracle", planner="rules", skills="scripted",
                       configs={"world": config})


def test_the_world_reports_libero_in_the_robots_base_frame():
    world = build_world(0, stack())
    obs = world.observe(("scene",))
    truth = {o.name: o for o in obs.truth.objects}
    assert {"alphabet_soup_1", "basket_1"} <= set(truth)
    assert truth["basket_1"].category == "container" and truth["alphabet_soup_1"].label == "alphabet soup"
    # The arm's TCP as the controllers' model computes it from q: a reachable point in front of the base.
    tcp = obs.proprio.T_world_ee[:3, 3]
    assert 0.3 < tcp[0] < 0.6 and abs(tcp[1]) < 0.1
    frame = obs.frames["scene"]
    assert frame.rgb.shape == (128, 128, 3) and frame.depth_m.shape == (128, 128) and np.isfinite(frame.depth_m).all()
    assert not world.task_succeeded()


def test_a_libero_task_runs_end_to_end_and_libero_says_it_succeeded():
    world = build_world(0, stack())
    executor = build_executor(world, stack())
    result = executor.run_instruction(world.instruction)  # "pick up the alphabet soup and place it in the basket"
    assert result.success, result.failure
    assert [r.skill for r in result.subgoals] in (["pick", "place"], ["pick_place"])
    assert world.task_succeeded()  # LIBERO's check_success(), the suite's own BDDL goal


def test_unknown_suite_and_task_are_config_errors():
    with pytest.raises(ConfigError, match="unknown LIBERO suite"):
        build_world(0, stack(suite="libero_nowhere"))
    with pytest.raises(ConfigError, match=r"tasks 0\.\.9"):
        build_world(0, stack(task=42))


def test_a_server_that_dies_mid_episode_fails_the_episode_with_a_typed_reason(tmp_path):
    s = stack(log_dir=tmp_path)  # a server of its own: this test kills it
    world = build_world(0, s)
    executor = build_executor(world, s)
    steps = {"n": 0}
    command = world.command

    def dying(cmd):
        steps["n"] += 1
        if steps["n"] == 20:
            os.kill(world.server.pid, signal.SIGKILL)
        command(cmd)

    world.command = dying
    result = executor.run_instruction(world.instruction)
    assert not result.success and "LIBERO" in (result.failure or "")
    with pytest.raises(LiberoError):
        world.task_succeeded()
