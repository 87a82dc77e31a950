"""Parts that move on a joint in LIBERO's scenes: drawers, the stove's knob, as tokens and through the skills.

Needs the LIBERO venv (`make libero-venv`, part of `make test`); shares the process's LIBERO server.
"""

from __future__ import annotations

import pytest

from hvla.orchestration import StackConfig, build_executor, build_world
from hvla.sim.libero import LiberoConfig, LiberoServerConfig

PYTHON, _ = LiberoServerConfig().resolve_python()
pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(
    not PYTHON.is_file(), reason=f"LIBERO venv missing ({PYTHON}): run `make libero-venv`")]


def stack(task: int) -> StackConfig:
    return StackConfig(world="libero", perception="oracle", planner="rules", skills="scripted",
                       configs={"world": LiberoConfig("libero_goal", task, 0)})


def test_drawers_and_the_knob_are_tokens_that_say_how_they_move():
    world = build_world(0, stack(0))
    truth = {o.name: o for o in world.observe(cameras=()).truth.objects}
    drawers = {truth[n].label: truth[n] for n in truth if truth[n].label.endswith("drawer")}
    assert set(drawers) == {"top drawer", "middle drawer", "bottom drawer"}
    assert all(d.articulation.kind == "slide" and d.articulation.is_closed for d in drawers.values())
    assert drawers["top drawer"].position_m[2] > drawers["middle drawer"].position_m[2]
    knob = truth["flat_stove_1"].articulation
    assert knob.switch and knob.kind == "hinge" and knob.grip_yaw_rad is not None and not knob.is_open
    assert world.speaker_left_xy[1] < -0.9  # LIBERO's sentences look at the robot from its scene camera
    assert world.table_z_m < 0.0  # its table lies below the robot's base


@pytest.mark.parametrize(("task", "skill"), [(7, "turn_on"), (0, "open")])
def test_a_part_task_runs_end_to_end_and_libero_says_it_succeeded(task, skill):
    world = build_world(0, stack(task))  # 7: "turn on the stove"; 0: "open the middle drawer of the cabinet"
    result = build_executor(world, stack(task)).run_instruction(world.instruction)
    assert result.success, result.failure
    assert [r.skill for r in result.subgoals] == [skill]
    assert world.task_succeeded()  # LIBERO's own BDDL check: Turnon(flat_stove_1) / Open(..._middle_region)
