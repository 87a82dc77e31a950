"""Success of single skills and of whole instructions over many seeds, in parallel worker processes.

Used by the benchmarks: the same executor loop as `hvla run`, one fresh kitchen per seed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from hvla.core.errors import HvlaError
from hvla.core.messages import Plan, Subgoal
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.sim.scene import SceneConfig


@dataclass(frozen=True)
class SkillCase:
    """One row of a skill benchmark: a skill with arguments, run in kitchens that contain them."""

    skill: str
    args: tuple[tuple[str, str], ...]
    timeout_s: float | None = None

    @property
    def name(self) -> str:
        return f"{self.skill}({', '.join(v for _, v in self.args)})"

    def scene(self) -> SceneConfig:
        needed = {v for k, v in self.args if k in ("object", "target", "tool")}
        base = SceneConfig()
        optional = tuple(o for o in base.optional if o not in needed)
        return replace(base, required=tuple(dict.fromkeys((*base.required, *needed))), optional=optional)


@dataclass(frozen=True)
class CaseResult:
    case: str
    seed: int
    success: bool
    sim_time_s: float
    wall_time_s: float
    reason: str | None = None


@dataclass(frozen=True)
class _Job:
    case: SkillCase
    seed: int
    stack: StackConfig = field(default_factory=StackConfig)


def run_skill_case(case: SkillCase, seed: int, stack: StackConfig | None = None) -> CaseResult:
    """One attempt (no retries) of `case` in the kitchen of `seed`."""
    stack = stack or StackConfig()
    stack = replace(stack, executor=replace(stack.executor, retries=0, replans=0))
    world = build_world(seed, stack, case.scene())
    executor = build_executor(world, stack)
    subgoal = Subgoal("s0", case.skill, dict(case.args), timeout_s=case.timeout_s)
    try:
        result = executor.run_plan(Plan.sequence([subgoal], case.name))
    except HvlaError as exc:
        return CaseResult(case.name, seed, False, 0.0, 0.0, f"{type(exc).__name__}: {exc}")
    finally:
        world.close()
    return CaseResult(case.name, seed, result.success, result.sim_time_s, result.wall_time_s, result.failure)


def _run_job(job: _Job) -> CaseResult:
    return run_skill_case(job.case, job.seed, job.stack)


def evaluate_skills(
    cases: Sequence[SkillCase], seeds: Iterable[int], stack: StackConfig | None = None, workers: int | None = None
) -> list[CaseResult]:
    """Every case on every seed; `workers` processes (default: all cores)."""
    jobs = [_Job(case, seed, stack or StackConfig()) for case in cases for seed in seeds]
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return [_run_job(job) for job in jobs]
    with mp.get_context("spawn").Pool(workers) as pool:
        return list(pool.imap(_run_job, jobs, chunksize=4))


def default_skill_cases() -> list[SkillCase]:
    """Pick every graspable object; place every fruit into the bowl and onto the plate; wipe."""
    fruits = ("banana", "apple", "lemon", "mango")
    cases = [SkillCase("pick", (("object", o),)) for o in (*fruits, "sponge")]
    for target in ("bowl", "plate"):
        cases += [SkillCase("pick_place", (("object", o), ("target", target))) for o in fruits]
    cases.append(SkillCase("wipe", (("tool", "sponge"), ("region", "counter"))))
    return cases
