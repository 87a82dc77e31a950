"""Roll-outs of whole stacks: recording demonstrations, DAgger's collection and the skills benchmark.

A tool on top of the layers (like the CLI and the console): every episode is wired by the builder and
runs exactly the loop `hvla run` runs (perception -> success check -> policy -> controller, monitors,
time budgets), without retries, in a pool of worker processes. The skills layer's own modules
(`skills/data`, `skills/policy`) take what they need as arguments and never import this one.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hvla.core.errors import HvlaError
from hvla.core.messages import Plan
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.executor import ExecutorConfig
from hvla.perception.base import PERCEPTION
from hvla.sim.scene import SceneConfig
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.data.disturb import Disturbance, MovedObjectRobot, OccludedCamerasRobot, OccludedPerception
from hvla.skills.data.lerobot import DatasetWriter
from hvla.skills.data.record import (
    PERCEIVED_SUFFIX,
    DemoJob,
    EpisodeRecorder,
    NoisyExpert,
    RecordPlan,
    SubgoalSpec,
    build_subgoals,
    check_held_out,
    demo_case,
    first_recorded,
    scene_for,
)
from hvla.skills.e2e import EndToEndSkillsConfig
from hvla.skills.policy import DaggerSkillsConfig, LearnedSkillsConfig
from hvla.skills.policy.dagger import DaggerConfig

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PolicySpec:
    """Which skill policy a worker builds: a registry name and its typed config (picklable, for the workers)."""

    name: str = "scripted"
    config: Any = None  # the config type `name` registered (None: its defaults)

    @classmethod
    def learned(cls, checkpoint: str | Path | None = None, **fields: Any) -> PolicySpec:
        """The object-centric policy of `checkpoint` (None: the committed one), unwatched unless `anomaly=`."""
        fields.setdefault("anomaly", None)
        return cls("learned", LearnedSkillsConfig(checkpoint=_path(checkpoint), **fields))

    @classmethod
    def e2e(cls, checkpoint: str | Path | None = None, **fields: Any) -> PolicySpec:
        return cls("e2e", EndToEndSkillsConfig(checkpoint=_path(checkpoint), **fields))

    @property
    def kind(self) -> str:
        return self.name

    def setting(self, field_name: str) -> Any:
        """One field of the config (None where this policy's config has no such field)."""
        return getattr(self.config, field_name, None)

    def with_settings(self, **fields: Any) -> PolicySpec:
        return PolicySpec(self.name, replace(self.config, **fields))

    def build(self, seed: int):
        if self.name == "dagger":  # the coin is per episode, the expert's view from the simulator's truth
            config = replace(self.config or DaggerSkillsConfig(), seed=seed)
            return SKILL_POLICIES.build("dagger", config, expert_view=PERCEPTION.build("oracle").perceive)
        return SKILL_POLICIES.build(self.name, self.config)


def _path(checkpoint: str | Path | None) -> str | None:
    return str(checkpoint) if checkpoint else None


@dataclass(frozen=True)
class RolloutJob:
    """One attempt of a short plan in the kitchen of `seed` with a policy and a disturbance."""

    name: str  # the case, e.g. "pick(banana)"
    seed: int
    subgoals: tuple[SubgoalSpec, ...]
    scene: SceneConfig
    policy: PolicySpec = field(default_factory=PolicySpec)
    disturbance: Disturbance = field(default_factory=Disturbance)
    record_to: str | None = None  # dagger: stage the expert-labelled roll-out into this dataset
    record_ids: tuple[str, ...] = ()
    source: str = "rollout"
    perception: str = "oracle"  # what the policy acts on: "oracle" tokens or a learned front end ("yolo")
    record_from: int = 0  # subgoals before this index set the scene up (run by the scripted expert)


@dataclass(frozen=True)
class RolloutResult:
    name: str
    seed: int
    success: bool
    sim_time_s: float
    wall_time_s: float
    reason: str | None = None
    chunk_ms: float = 0.0  # mean time of one policy.act
    disturbed: bool = False
    perceive_ms: float = 0.0  # mean time of one perception.perceive (0 for the oracle's lookup)
    warnings: tuple[str, ...] = ()  # monitors that warned without aborting (the anomaly monitor)
    max_anomaly: float | None = None  # highest anomaly score of the policy under test (None: not scored)


class TimedPerception:
    """Measures the front end's `perceive` time (the benchmark's latency column)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cameras = inner.cameras
        self.total_s = 0.0
        self.calls = 0

    def reset(self) -> None:
        self.inner.reset()

    def perceive(self, obs):
        t0 = time.perf_counter()
        scene = self.inner.perceive(obs)
        self.total_s += time.perf_counter() - t0
        self.calls += 1
        return scene


class TimedPolicy:
    """Measures the policy's `act` time (the benchmark's latency column) and keeps its highest anomaly score."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cameras = getattr(inner, "cameras", ())
        self.total_s = 0.0
        self.calls = 0
        self.max_anomaly: float | None = None

    @property
    def anomaly(self) -> float | None:
        return getattr(self.inner, "anomaly", None)

    def reset(self, scene, subgoal) -> None:
        self.inner.reset(scene, subgoal)

    def act(self, scene, proprio):
        t0 = time.perf_counter()
        chunk = self.inner.act(scene, proprio)
        self.total_s += time.perf_counter() - t0
        self.calls += 1
        if self.anomaly is not None:
            self.max_anomaly = max(self.max_anomaly or 0.0, self.anomaly)
        return chunk


def _executor(world, robot, policy, cameras: Sequence[str], recorder, disturbance: Disturbance, seed: int,
              perception=None):
    perception = perception or PERCEPTION.build("oracle")
    if disturbance.kind == "occlusion":
        perception = OccludedPerception(perception, disturbance.drop_p, seed)
    stack = StackConfig(executor=ExecutorConfig(retries=0, replans=0, log_cameras=tuple(cameras)))
    return build_executor(world, stack, recorder, robot=robot, perception=perception, policy=policy, planner=None)


def run_rollout(job: RolloutJob) -> RolloutResult:
    """One roll-out; with `record_to`, the visited states and the expert's labels become data."""
    wall0 = time.time()
    scene = job.disturbance.scene(job.scene)
    perception = seen = TimedPerception(PERCEPTION.build(job.perception))
    try:
        world = build_world(job.seed, StackConfig(perception=job.perception), scene)
    except HvlaError as exc:
        return RolloutResult(job.name, job.seed, False, 0.0, 0.0, f"scene: {exc}")
    robot = world
    if job.disturbance.kind == "moved_object":
        args = dict(job.subgoals[-1].args)
        target = args.get("object") or args.get("tool", "")
        robot = MovedObjectRobot(world, target, job.seed, job.disturbance.shift_m)
    elif job.disturbance.kind == "camera_occlusion":
        robot = OccludedCamerasRobot(world, job.disturbance.drop_p, job.disturbance.cover, job.seed)
    inner = job.policy.build(job.seed)
    policy = timed = TimedPolicy(inner)
    if job.record_from:  # set-up subgoals (a lead-in) run scripted; the policy takes over after them
        setup_ids = {s.id for s in job.subgoals[: job.record_from]}
        policy = _SetUpThen(SKILL_POLICIES.build("scripted"), timed, setup_ids)
    subgoals = build_subgoals(job.subgoals)
    tokens = "oracle" if job.perception == "oracle" else "perceived"
    recorder = EpisodeRecorder(inner, subgoals, job.record_ids, tokens=tokens) if job.record_to else None
    executor = _executor(world, robot, policy, (), recorder, job.disturbance, job.seed, perception)
    try:
        result = executor.run_plan(Plan.sequence(subgoals, job.name))
    except HvlaError as exc:
        world.close()
        return RolloutResult(job.name, job.seed, False, 0.0, time.time() - wall0, f"{type(exc).__name__}: {exc}")
    world.close()
    if recorder is not None and job.record_to:
        outcomes = {r.id: (r.outcome == "succeeded", r.reason) for r in result.subgoals}
        meta = {"seed": job.seed, "source": job.source, "noise_m": 0.0, "n_objects": len(world.layout.objects),
                "n_distractors": sum(o.label == "block" for o in world.layout.objects),
                "disturbance": job.disturbance.kind}
        writer = DatasetWriter(Path(job.record_to), recover=False)
        for episode in recorder.episodes(f"{job.source}-{job.name}-s{job.seed:06d}", outcomes, meta):
            writer.stage(episode)
    moved = isinstance(robot, MovedObjectRobot) and robot.moved_at_s is not None
    ms = 1e3 * timed.total_s / max(timed.calls, 1)
    return RolloutResult(job.name, job.seed, result.success, result.sim_time_s, time.time() - wall0,
                         result.failure, ms, moved, 1e3 * seen.total_s / max(seen.calls, 1),
                         tuple(result.warnings), timed.max_anomaly)


class _SetUpThen:
    """The scripted expert for the set-up subgoals, then the policy under test."""

    def __init__(self, setup, policy, setup_ids: set[str]) -> None:
        self.setup, self.policy, self.setup_ids = setup, policy, setup_ids
        self.cameras = getattr(policy, "cameras", ())
        self.active = policy

    @property
    def anomaly(self) -> float | None:
        return getattr(self.active, "anomaly", None)

    def reset(self, scene, subgoal) -> None:
        self.active = self.setup if subgoal.id in self.setup_ids else self.policy
        self.active.reset(scene, subgoal)

    def act(self, scene, proprio):
        return self.active.act(scene, proprio)


@dataclass(frozen=True)
class DemoResult:
    uid: str
    success: bool
    frames: int
    sim_time_s: float
    reason: str | None = None


def run_demo(job: DemoJob, root: str) -> DemoResult:
    """Record one demonstration episode (scripted expert, injected noise) into the staging area of `root`.

    The expert always acts on simulator truth (its labels must be right); with `job.perceived` the
    learned detector also perceives every frame, recorded as a second episode of the same states.
    """
    front_end = "yolo" if job.perceived else "oracle"  # what the frames are rendered for
    perceived = PERCEPTION.build("yolo") if job.perceived else None  # a fresh tracker per episode
    cameras = tuple(dict.fromkeys((*job.cameras, *(perceived.cameras if perceived else ()))))
    try:
        world = build_world(job.seed, StackConfig(perception=front_end), job.scene)
    except HvlaError as exc:
        return DemoResult(job.uid, False, 0, 0.0, f"scene: {exc}")
    policy = NoisyExpert(job.noise, job.seed)
    subgoals = build_subgoals(job.subgoals)
    recorder = EpisodeRecorder(policy, subgoals, job.record_ids, job.cameras, perceived)
    executor = _executor(world, world, policy, cameras, recorder, Disturbance(), job.seed)
    writer = DatasetWriter(Path(root), cameras=job.cameras, recover=False)
    writer.begin(job.uid)  # killed from here on, `hvla data repair` names this episode as the partial one
    try:
        result = executor.run_plan(Plan.sequence(subgoals, job.uid))
    except HvlaError as exc:
        world.close()
        writer.discard(job.uid)
        return DemoResult(job.uid, False, 0, 0.0, f"{type(exc).__name__}: {exc}")
    world.close()
    outcomes = {r.id: (r.outcome == "succeeded", r.reason) for r in result.subgoals}
    meta = {
        "seed": job.seed, "source": job.source, "n_objects": len(world.layout.objects),
        "n_distractors": sum(o.label == "block" for o in world.layout.objects),
        "noise_m": job.noise.offset_m[1] if job.noise else 0.0, "disturbance": "none",
        "sim_time_s": round(result.sim_time_s, 2), "lead_in": ",".join(job.lead_in),
    }
    with tempfile.TemporaryDirectory() as tmp:
        episodes = recorder.episodes(job.uid, outcomes, meta, Path(tmp))
        for episode in episodes:
            writer.stage(episode)
    frames = sum(e.length for e in episodes)
    ok = all(outcomes.get(i, (False, None))[0] for i in job.record_ids)
    return DemoResult(job.uid, ok, frames, result.sim_time_s, result.failure)


def record_dataset(root: Path, jobs: Sequence[DemoJob], workers: int | None = None, progress: bool = True,
                   cameras: Sequence[str] = (), plan: RecordPlan | None = None
                   ) -> tuple[list[DemoResult], dict[str, Any]]:
    """Record `jobs` into `root` (skipping episodes already there: resumable), then commit them.

    `plan` (what the command was asked for) is journalled first, so `hvla data record --resume` can
    finish the recording should this process be killed."""
    check_held_out(jobs)
    writer = DatasetWriter(root, cameras=cameras)
    if plan is not None:
        plan.save(root)
    done = writer.done_uids()
    todo = [j for j in jobs if not job_recorded(j, done)]
    results = map_jobs(run_demo, [(j, str(root)) for j in todo], workers, f"record {len(todo)} episodes", progress)
    info = writer.finalise()
    return results, info


def job_recorded(job: DemoJob, done: set[str]) -> bool:
    """Every episode of `job` is in the dataset (its perceived twin too: a kill can fall between the two)."""
    return job.uid in done and (not job.perceived or job.uid + PERCEIVED_SUFFIX in done)


def dagger_collect(round_index: int, checkpoint: Path, root: Path, cfg: DaggerConfig, workers: int | None = None,
                   progress: bool = True) -> dict[str, float]:
    """Roll out `checkpoint` on this round's training kitchens, expert-labelled, into the dataset `root`."""
    rng = np.random.default_rng([cfg.first_seed, round_index])
    jobs = []
    for i, seed in enumerate(cfg.seeds(round_index)):
        skill = cfg.skills[i % len(cfg.skills)]
        subgoals, record, needed = demo_case(skill, seed, cfg.lead_in_p)
        first = first_recorded(subgoals, record)
        # The moved-object disturbance watches the recorded skill's object; a lead-in would trip it early.
        moved = rng.random() < cfg.moved_object_share and first == 0
        jobs.append(RolloutJob(
            name=f"{skill}-{'-'.join(v for _, v in subgoals[-1].args)}", seed=seed, subgoals=subgoals,
            scene=scene_for(needed, int(rng.integers(0, 4))),
            policy=PolicySpec("dagger", DaggerSkillsConfig(
                LearnedSkillsConfig(checkpoint=str(checkpoint), anomaly=None), cfg.beta(round_index),
                label_on_truth=cfg.perception != "oracle")),
            disturbance=Disturbance("moved_object" if moved else "none"),
            record_to=str(root), record_ids=record, source=f"dagger{round_index}",
            perception=cfg.perception, record_from=first,
        ))
    writer = DatasetWriter(root)
    results = map_jobs(run_rollout, [(j,) for j in jobs], workers, f"DAgger round {round_index}", progress)
    writer.finalise()
    out = {"all": float(np.mean([r.success for r in results]))}
    for skill in dict.fromkeys(cfg.skills):
        sel = [r.success for r, j in zip(results, jobs) if j.name.startswith(f"{skill}-")]
        out[skill] = float(np.mean(sel)) if sel else float("nan")
    moved = [r.success for r, j in zip(results, jobs) if j.disturbance.kind == "moved_object"]
    out["moved_object"] = float(np.mean(moved)) if moved else float("nan")
    return out


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker: the machine is shared


def _call(args: tuple[Callable[..., R], tuple]) -> R:
    fn, fn_args = args
    return fn(*fn_args)


def map_jobs(fn: Callable[..., R], jobs: Iterable[tuple], workers: int | None = None, label: str = "",
             progress: bool = True, on_result: Callable[[int, R], None] | None = None) -> list[R]:
    """`fn(*job)` for every job, in `workers` spawned processes, with a progress bar; results in order.

    `on_result(i, result)` runs as each result arrives (a benchmark caches it, so an interrupted run
    keeps what it finished).
    """
    jobs = list(jobs)
    workers = max(1, min(workers or default_workers(), len(jobs) or 1))
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   disable=not progress, transient=False)
    results: list[Any] = []
    with bar:
        task = bar.add_task(label or fn.__name__, total=len(jobs))
        if workers == 1:
            _init_worker()
            for job in jobs:
                results.append(fn(*job))
                if on_result is not None:
                    on_result(len(results) - 1, results[-1])
                bar.advance(task)
            return results
        with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            for result in pool.imap(_call, [(fn, job) for job in jobs]):
                results.append(result)
                if on_result is not None:
                    on_result(len(results) - 1, result)
                bar.advance(task)
    return results


def default_workers() -> int:
    """Half the cores (at least one): the machine is usually shared."""
    return max(1, (os.cpu_count() or 2) // 2)
