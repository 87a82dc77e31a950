"""LIBERO benchmark: hvla's stack on LIBERO's suites, by LIBERO's protocol, graded by LIBERO's own check.

    .venv/bin/python benchmarks/libero.py --suite libero_object --episodes-per-task 5      # a quick look
    .venv/bin/python benchmarks/libero.py --suite all --episodes-per-task 20                # the reported table
    .venv/bin/python benchmarks/libero.py --suite libero_goal --tasks 3,7 --video runs/libero_video

The protocol: every task of a suite, from LIBERO's official initial states (the first N of the 50 per task),
each episode capped at the suite's step limit (LIBERO's evaluation: spatial 220, object 280, goal 300,
LIBERO-10 520 steps of 50 ms), and a success is LIBERO's `check_success()` on the task's BDDL goal when the
episode ends, nothing of hvla's. hvla gets only the task's instruction: the planner grounds it in the
scene's tokens, the skills execute it, the controllers keep the Panda's limits. One attempt per episode
with hvla's usual retry and re-plan inside the step budget.

Results are cached per (stack, suite, task, init state) in --cache, so a stopped run resumes where it was
and a re-run only adds what is new. The published numbers beside the table are VLAs trained on LIBERO's 50
human demonstrations per task; hvla's rows use its own planner and skills, and none of LIBERO's demos.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from results_cache import JsonlCache

import hvla  # noqa: F401  (offline, headless defaults)
from hvla.core.artifacts import resolve_artifact
from hvla.core.errors import HvlaError
from hvla.orchestration import ExecutorConfig, StackConfig, build_executor, build_world
from hvla.orchestration.builder import build_skills
from hvla.orchestration.rollouts import TimedPolicy
from hvla.orchestration.video import VideoRecorder
from hvla.sim.libero import LiberoConfig
from hvla.sim.libero.world import LiberoServerConfig, shared_server, suite_max_steps
from hvla.skills.policy import LearnedSkillsConfig
from hvla.skills.policy.checkpoint import COMMITTED
from hvla.skills.scripted import ScriptedSkillsConfig

SAMPLED_SEED = 10_000  # held-out sampled scenes, for suites without official init states
SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")
# Published success [%] (Spatial, Object, Goal, LIBERO-10); all trained on LIBERO's human demonstrations.
PUBLISHED = {
    "pi0.5": (98.8, 98.2, 98.0, 92.4),
    "OpenVLA-OFT (avg 97.1)": (97.6, 98.4, 97.9, 94.5),
    "OpenVLA (avg 76.5)": (84.7, 88.4, 79.2, 53.7),
}


@dataclass(frozen=True)
class EpisodeRow:
    key: str
    suite: str
    task: int
    init: int
    instruction: str
    success: bool  # LIBERO's check_success() at the end of the episode
    plan_success: bool  # hvla's own verdict (every subgoal's predicate held)
    steps: int
    wall_s: float
    plan: str
    failure: str | None
    act_ms: float | None = None  # mean time of one policy step (None: rows from before it was measured)


class LearnedStepTimer(TimedPolicy):
    """Times the policy's steps, a hybrid's learned ones only (its fallback's scripted steps are not inference)."""

    def act(self, scene, proprio):
        if getattr(self.inner, "backend", "learned") != "fallback":
            return super().act(scene, proprio)
        return self.inner.act(scene, proprio)


def skills_config(args: argparse.Namespace) -> dict:
    """The skills layer's config: the scripted experts at `--expert-speed`, or the learned policy of `--checkpoint`
    with those experts for the skills it was not trained on (LIBERO's drawers and knobs: the hybrid)."""
    scripted = ScriptedSkillsConfig(speed_scale=args.expert_speed)
    if args.skills == "scripted":
        return {"skills": scripted}
    if args.skills == "learned":
        return {"skills": LearnedSkillsConfig(checkpoint=str(args.checkpoint) if args.checkpoint else None,
                                              anomaly=None, fallback=scripted)}
    return {}


def stack_for(args: argparse.Namespace, suite: str, task: int, init: int, sampled: bool = False) -> StackConfig:
    """The stack of one episode; `sampled`: the suite ships no init states (LIBERO-PRO's environment variants), so
    the scene is LIBERO's sampler's draw with held-out seed SAMPLED_SEED + init (training scenes use seeds < 10 000)."""
    steps = suite_max_steps(suite)
    world = LiberoConfig(suite, task, sample_seed=SAMPLED_SEED + init) if sampled else LiberoConfig(suite, task, init)
    world = replace(world, arm_shift_std_rad=args.arm_shift)
    return StackConfig(
        world="libero", perception=args.perception, planner=args.planner, skills=args.skills,
        image_size=args.image_size,
        executor=ExecutorConfig(episode_timeout_s=steps * 0.05, log_cameras=("scene",) if args.video else ()),
        configs={"world": world, **skills_config(args)},
    )


def skills_label(args: argparse.Namespace) -> str:
    """The skills part of a cache key: a learned policy by its checkpoint's content, so a new one is a new row."""
    if args.skills == "scripted":
        return f"scripted@{args.expert_speed:g}"
    if args.skills == "learned":
        path = args.checkpoint or resolve_artifact(*COMMITTED["libero"])  # the committed LIBERO policy
        return f"learned@{content_digest(Path(path))}+scripted@{args.expert_speed:g}"
    return args.skills


@lru_cache(maxsize=4)
def content_digest(path: Path) -> str:
    """The checkpoint's content hash, read once per run (every episode's key names it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def episode_key(args: argparse.Namespace, suite: str, task: int, init: int) -> str:
    """The cache key: the stack, the task and the init state."""
    shift = f"/arm{args.arm_shift:g}" if args.arm_shift else ""
    return f"{args.perception}/{args.planner}/{skills_label(args)}/{suite}{shift}/{task}/{init}"


def run_episode(args: argparse.Namespace, suite: str, task: int, init: int, video: Path | None,
                sampled: bool = False) -> EpisodeRow:
    wall0 = time.time()
    stack = stack_for(args, suite, task, init, sampled)
    key = episode_key(args, suite, task, init)
    world = build_world(init, stack)
    steps = {"n": 0}
    command = world.command

    def counted(cmd):  # the suite's cap is on LIBERO steps; the executor's budget enforces it on its clock
        steps["n"] += 1
        command(cmd)

    world.command = counted
    recorder = VideoRecorder(video) if video is not None else None
    timed: LearnedStepTimer | None = None
    try:
        timed = LearnedStepTimer(build_skills(stack, world))  # given at construction: the loop keeps its policy
        executor = build_executor(world, stack, recorder, policy=timed)
        result = executor.run_instruction(world.instruction)
        plan = " -> ".join(f"{r.skill}({', '.join(r.args.values())})" for r in result.subgoals)
        plan_ok, failure = result.success, result.failure
    except HvlaError as exc:  # refused by the planner, or the server failed: a failed episode with its reason
        plan, plan_ok, failure = "", False, f"{type(exc).__name__}: {exc}"
    try:
        success = world.task_succeeded()
        if not success and failure is None:  # every subgoal held once, but not all of them at the end
            failure = "BDDL goal not met at the end: " + ", ".join(
                f"({' '.join(p)})" for p in world.goal_open())
    except HvlaError as exc:
        success, failure = False, failure or f"{type(exc).__name__}: {exc}"
    if recorder is not None:
        recorder.write()
    act_ms = round(1e3 * timed.total_s / timed.calls, 3) if timed is not None and timed.calls else None
    return EpisodeRow(key, suite, task, init, world.instruction, success, plan_ok, steps["n"],
                      round(time.time() - wall0, 2), plan, failure, act_ms)


def stack_name(args: argparse.Namespace) -> str:
    tokens = "oracle tokens" if args.perception == "oracle" else f"{args.perception} tokens"
    if args.skills == "learned":
        return (f"hybrid: {args.planner} planner + {tokens} + learned skills ({args.checkpoint or 'committed'}), "
                "scripted parts; trained on hvla's LIBERO demos")
    return f"modular: {args.planner} planner + {tokens} + {args.skills} skills; no LIBERO demos"


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}"


def report(rows: list[dict], suites: list[str], episodes: int, args: argparse.Namespace) -> None:
    print(f"\nmachine: {machine()}; {episodes} official init states per task; success = LIBERO check_success()\n")
    print("| suite | task | instruction | success | mean steps | mean wall [s] | failures |")
    print("|---|---|---|---|---|---|---|")
    per_suite: dict[str, list[dict]] = defaultdict(list)
    for suite in suites:
        tasks: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            if r["suite"] == suite:
                tasks[r["task"]].append(r)
                per_suite[suite].append(r)
        for task in sorted(tasks):
            rs = tasks[task]
            ok = sum(r["success"] for r in rs)
            reasons = sorted({(r["failure"] or "no BDDL goal at the end")[:70] for r in rs if not r["success"]})
            print(f"| {suite} | {task} | {rs[0]['instruction']} | {100 * ok / len(rs):.0f} % ({ok}/{len(rs)}) | "
                  f"{sum(r['steps'] for r in rs) / len(rs):.0f} | {sum(r['wall_s'] for r in rs) / len(rs):.1f} | "
                  f"{'; '.join(reasons)} |")
    print("\n| stack | " + " | ".join(SUITES) + " | average |")
    print("|---|" + "---|" * (len(SUITES) + 1))
    cells, values = [], []
    for suite in SUITES:
        rs = per_suite.get(suite, [])
        if rs:
            rate = 100 * sum(r["success"] for r in rs) / len(rs)
            values.append(rate)
            cells.append(f"{rate:.1f} ({sum(r['success'] for r in rs)}/{len(rs)})")
        else:
            cells.append("-")
    avg = f"{sum(values) / len(values):.1f}" if len(values) == len(SUITES) else "-"
    print(f"| hvla ({stack_name(args)}) | {' | '.join(cells)} | {avg} |")
    for name, nums in PUBLISHED.items():
        print(f"| {name} (trained on LIBERO's demos) | " + " | ".join(f"{n:.1f}" for n in nums) +
              f" | {sum(nums) / len(nums):.1f} |")
    timed = sorted(r["act_ms"] for r in rows if r.get("act_ms"))
    if timed:
        print(f"\npolicy step ({'learned steps' if args.skills == 'learned' else args.skills}, one thread): mean "
              f"{sum(timed) / len(timed):.2f} ms, worst episode {timed[-1]:.2f} ms, over {len(timed)} episodes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="libero_object", help=f"one of {SUITES}, libero_90, or 'all'")
    parser.add_argument("--tasks", default="", help="comma-separated task indices (default: every task)")
    parser.add_argument("--episodes-per-task", type=int, default=20, help="official init states 0..N-1 (max 50)")
    add_stack_arguments(parser)
    parser.add_argument("--cache", type=Path, default=Path("data/bench/libero.jsonl"))
    args = parser.parse_args(argv)
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    known = shared_server(LiberoServerConfig()).hello.suites  # suite -> number of tasks, LIBERO-PRO's too
    if args.suite != "all" and args.suite not in known:
        print(f"error: unknown suite {args.suite!r}: one of {SUITES}, libero_90, a LIBERO-PRO variant "
              "(libero_object_swap, ..._lan, ..._object, ..._env) or 'all'", file=sys.stderr)
        return 2
    if not 1 <= args.episodes_per_task <= 50:
        print("error: --episodes-per-task must be 1..50 (LIBERO ships 50 init states per task)", file=sys.stderr)
        return 2
    cache = JsonlCache(args.cache)
    chosen = [int(t) for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    rows = [r for suite in suites for r in run_suite(args, suite, chosen, cache)]
    report(rows, suites, args.episodes_per_task, args)
    return 0


def run_suite(args: argparse.Namespace, suite: str, tasks: list[int] | None, cache: JsonlCache) -> list[dict]:
    """Every (task, init state) of `suite` for the stack of `args`, from `cache` where it was run before."""
    server = shared_server(LiberoServerConfig())
    infos = server.tasks(suite)
    rows = []
    for task in tasks if tasks is not None else range(len(infos)):
        for init in range(args.episodes_per_task):
            key = episode_key(args, suite, task, init)
            if key not in cache.rows:
                video = args.video / f"{suite}_{task}_{init}.mp4" if args.video and init == 0 else None
                row = run_episode(args, suite, task, init, video, sampled=infos[task].n_init_states == 0)
                cache.add(row.key, asdict(row))
                print(f"{suite}[{task}] init {init}: {'ok' if row.success else 'FAILED'} in {row.steps} steps, "
                      f"{row.wall_s:.1f} s  {row.plan}  {row.failure or ''}", flush=True)
            rows.append(cache.rows[key])
    return rows


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose the stack under test (shared with benchmarks/libero_pro.py)."""
    parser.add_argument("--perception", default="oracle")
    parser.add_argument("--planner", default="offline")
    parser.add_argument("--skills", default="scripted")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="--skills learned: the policy checkpoint (e.g. one `hvla train policy` made on "
                             "`hvla data record-libero` data)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--expert-speed", type=float, default=1.6,
                        help="scripted skills: every phase's speed times this (LIBERO's step caps are tight; "
                             "1 = the kitchen's)")
    parser.add_argument("--video", type=Path, default=None, help="write an mp4 per episode of the first init state")
    parser.add_argument("--arm-shift", type=float, default=0.0,
                        help="start the arm this far [rad, std per joint] from the init state's joint angles "
                             "(LIBERO-Plus's robot initial-state perturbation)")


if __name__ == "__main__":
    sys.exit(main())
