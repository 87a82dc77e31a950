"""The committed LIBERO policy (`artifacts/skills/libero_policy.pt`) does a LIBERO task, judged by LIBERO itself.

The hybrid stack: offline planner, oracle tokens, the learned policy for pick and place (trained on `hvla data
record-libero` demonstrations in LIBERO's sampled scenes), the scripted experts for what it was not trained on.
Needs the LIBERO venv (`make libero-venv`, run by `make test`).
"""

from __future__ import annotations

import pytest

from hvla.orchestration import ExecutorConfig, StackConfig, build_executor, build_world
from hvla.orchestration.builder import build_skills
from hvla.sim.libero import LiberoConfig, LiberoServerConfig
from hvla.skills.policy import LearnedSkillsConfig
from hvla.skills.scripted import ScriptedSkillsConfig

PYTHON, _ = LiberoServerConfig().resolve_python()
pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(
    not PYTHON.is_file(), reason=f"LIBERO venv missing ({PYTHON}): run `make libero-venv`")]


def hybrid(suite: str, task: int, init: int) -> StackConfig:
    return StackConfig(
        world="libero", perception="oracle", planner="offline", skills="learned",
        executor=ExecutorConfig(episode_timeout_s=280 * 0.05),  # libero_object's step cap
        configs={"world": LiberoConfig(suite, task, init),
                 "skills": LearnedSkillsConfig(anomaly=None, fallback=ScriptedSkillsConfig(speed_scale=1.6))})


def test_the_learned_policy_puts_the_soup_in_the_basket_by_libero_own_check():
    stack = hybrid("libero_object", 0, 0)
    world = build_world(0, stack)
    executor = build_executor(world, stack)
    assert executor.policy.trained_world == "libero" and {"pick", "place"} <= executor.policy.skills
    result = executor.run_instruction(world.instruction)
    assert [s.skill for s in result.subgoals] == ["pick", "place"]
    assert result.success and world.task_succeeded()


def test_the_kitchen_policy_is_refused_in_libero():
    from hvla.core.artifacts import resolve_artifact
    from hvla.core.errors import ConfigError
    from hvla.skills.policy.checkpoint import ARTIFACT, MAKE_COMMAND

    kitchen = str(resolve_artifact(ARTIFACT, MAKE_COMMAND))
    stack = hybrid("libero_object", 0, 0).with_config("skills", LearnedSkillsConfig(checkpoint=kitchen, anomaly=None))
    with pytest.raises(ConfigError, match="trained in world 'kitchen', this stack runs world 'libero'"):
        build_skills(stack, build_world(0, stack))
