"""Demonstrations in LIBERO's scenes: hvla's planner and scripted experts, recorded as a LeRobot v3 dataset.

The training counterpart of `benchmarks/libero.py`. Each episode is one LIBERO task in a scene LIBERO's own
sampler draws (`LiberoConfig.sample_seed`: the BDDL regions the official init states were drawn from, never
one of those 50), planned from the task's sentence and executed by the experts with the kitchen's noise
injection (recovery data). Every subgoal of the plan becomes one dataset episode, as the kitchen's are, with
agentview and wrist video (`--cameras scene,wrist`), the state, one action per frame and the task in words:
LIBERO's sentence where the plan is one step, the step's own words where it is several (`hvla/instruction`
keeps the sentence). `hvla/libero_success` is LIBERO's `check_success()` at the end of the task.

    hvla data record-libero --suites libero_object --episodes-per-task 10 --out data/libero_demos
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hvla.core.errors import ConfigError, DatasetError, HvlaError
from hvla.orchestration.builder import StackConfig, build_executor, build_skills, build_world
from hvla.orchestration.executor import ExecutorConfig
from hvla.orchestration.rollouts import DemoResult, map_jobs
from hvla.perception.base import PERCEPTION
from hvla.sim.libero.world import SUITE_MAX_STEPS, LiberoConfig
from hvla.skills.data.lerobot import DatasetWriter, staging
from hvla.skills.data.record import EpisodeRecorder, NoiseConfig, NoisyExpert
from hvla.skills.policy import LearnedSkillsConfig
from hvla.skills.policy.dagger import DaggerPolicy
from hvla.skills.scripted import ScriptedSkillsConfig

WORLD = "libero"  # `hvla/world` in info.json: a policy trained here is checked against where it runs
DEFAULT_SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")
CONTROL_DT_S = 0.05  # one LIBERO step
JOURNAL_KIND = "libero"  # the recording journal's `world`: `--resume` of the kitchen's recorder refuses it


@dataclass(frozen=True)
class LiberoDemoJob:
    """One task of one suite in the scene of `sample_seed`."""

    uid: str
    suite: str
    task: int
    sample_seed: int
    noise: NoiseConfig | None = None
    cameras: tuple[str, ...] = ()
    expert_speed: float = 1.6  # as the benchmark's experts: LIBERO's step caps want quick hands
    learner: str | None = None  # DAgger: this checkpoint acts (its parts scripted), the expert labels every frame
    beta: float = 0.0  # DAgger: per-step probability that the expert's chunk is executed instead


@dataclass(frozen=True)
class LiberoRecordPlan:
    """What `hvla data record-libero` was asked for, journalled in the dataset so `--resume` records the rest.

    Seeds `first_seed + k` for the k-th episode of every task; keep training seeds below 10 000 and held-out
    sampled scenes (`benchmarks/`) at 10 000 and above."""

    suites: tuple[str, ...] = DEFAULT_SUITES
    tasks: tuple[int, ...] = ()  # task indices of every suite; empty: all of them
    episodes_per_task: int = 10
    first_seed: int = 0
    noise: bool = True
    cameras: tuple[str, ...] = ("scene", "wrist")
    expert_speed: float = 1.6
    learner: str | None = None  # DAgger roll-outs of this checkpoint instead of the experts' demonstrations
    beta: float = 0.0

    def __post_init__(self) -> None:
        unknown = [s for s in self.suites if s not in SUITE_MAX_STEPS]
        if unknown:
            raise ConfigError(f"unknown LIBERO suites {unknown}; known: {sorted(SUITE_MAX_STEPS)}")
        if self.episodes_per_task < 1:
            raise ConfigError(f"episodes_per_task={self.episodes_per_task} must be at least 1")
        bad = [c for c in self.cameras if c not in ("scene", "wrist")]
        if bad:
            raise ConfigError(f"LIBERO cameras are scene (agentview) and wrist (robot0_eye_in_hand); got {bad}")

    def jobs(self, n_tasks: dict[str, int]) -> list[LiberoDemoJob]:
        """Every (suite, task, seed); `n_tasks` is each suite's task count (the server knows it)."""
        noise = NoiseConfig() if self.noise else None
        out = []
        for suite in self.suites:
            tasks = self.tasks or tuple(range(n_tasks[suite]))
            over = [t for t in tasks if not 0 <= t < n_tasks[suite]]
            if over:
                raise ConfigError(f"{suite} has tasks 0..{n_tasks[suite] - 1}; got {over}")
            for task in tasks:
                for k in range(self.episodes_per_task):
                    seed = self.first_seed + k
                    kind = "dagger" if self.learner else "libero"
                    out.append(LiberoDemoJob(f"{kind}-{suite.removeprefix('libero_')}-t{task:02d}-s{seed:06d}",
                                             suite, task, seed, None if self.learner else noise, self.cameras,
                                             self.expert_speed, self.learner, self.beta))
        return out

    def describe(self) -> str:
        tasks = ",".join(map(str, self.tasks)) if self.tasks else "all tasks"
        last = self.first_seed + self.episodes_per_task - 1
        extras = [f"cameras {','.join(self.cameras)}" if self.cameras else "no cameras",
                  "noise" if self.noise and not self.learner else "no noise", f"expert speed {self.expert_speed:g}"]
        if self.learner:
            extras.append(f"DAgger roll-outs of {self.learner} (beta {self.beta:g})")
        return (f"{', '.join(self.suites)} ({tasks}), {self.episodes_per_task} per task on sampled scenes "
                f"{self.first_seed}-{last} ({', '.join(extras)})")

    def save(self, root: Path) -> None:
        staging.write_journal(Path(root) / ".staging", staging.RECORDING_JOURNAL, {"world": JOURNAL_KIND,
                                                                                  **asdict(self)})

    @classmethod
    def load(cls, root: Path) -> LiberoRecordPlan:
        """The plan of the LIBERO recording in `root`.

        Raises:
            DatasetError: `root` holds no LIBERO recording journal.
        """
        content = staging.read_journal(Path(root) / ".staging", staging.RECORDING_JOURNAL)
        if content is None or content.get("world") != JOURNAL_KIND:
            what = "no recording journal" if content is None else "a kitchen recording (`hvla data record --resume`)"
            raise DatasetError(f"{root} holds {what}: nothing of `hvla data record-libero` to resume; record with "
                               f"`hvla data record-libero --out {root}`")
        content.pop("world")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in content.items()})
        except TypeError as exc:
            raise DatasetError(f"unreadable recording journal in {root}/.staging: {exc}") from None


def demo_stack(job: LiberoDemoJob) -> StackConfig:
    """The benchmark's stack (oracle tokens, offline planner, scripted experts) on the job's sampled scene."""
    steps = SUITE_MAX_STEPS.get(job.suite, 400)
    return StackConfig(
        world="libero", perception="oracle", planner="offline", skills="scripted",
        executor=ExecutorConfig(episode_timeout_s=steps * CONTROL_DT_S, retries=0, replans=0,
                                log_cameras=job.cameras),
        configs={"world": LiberoConfig(job.suite, job.task, sample_seed=job.sample_seed),
                 "skills": ScriptedSkillsConfig(speed_scale=job.expert_speed)},
    )


def run_libero_demo(job: LiberoDemoJob, root: str) -> DemoResult:
    """Record one task into the staging area of `root`: plan its sentence, run the noisy experts, stage each step."""
    stack = demo_stack(job)
    try:
        world = build_world(job.sample_seed, stack)
    except HvlaError as exc:
        return DemoResult(job.uid, False, 0, 0.0, f"scene: {exc}")
    grasp = build_skills(stack, world).grasp
    if job.learner:
        policy: Any = DaggerPolicy(_learner(stack, world, job), job.beta, job.sample_seed, grasp=grasp,
                                   speed_scale=job.expert_speed)
    else:
        policy = NoisyExpert(job.noise, job.sample_seed, grasp, job.expert_speed)
    executor = build_executor(world, stack, perception=PERCEPTION.build("oracle"), policy=policy)
    writer = DatasetWriter(Path(root), cameras=job.cameras, recover=False)
    writer.begin(job.uid)  # killed from here on, `hvla data repair` names this episode as the partial one
    try:
        _, scene = executor.observe()
        plan = executor.planner.plan(world.instruction, scene)
        subgoals = plan.subgoals()
        recorder = executor.recorder = EpisodeRecorder(policy, subgoals, [s.id for s in subgoals], job.cameras)
        result = executor.run_plan(plan)
        libero_success = world.task_succeeded()
    except HvlaError as exc:
        writer.discard(job.uid)
        return DemoResult(job.uid, False, 0, 0.0, f"{type(exc).__name__}: {exc}")
    outcomes = {r.id: (r.outcome == "succeeded", r.reason) for r in result.subgoals}
    meta: dict[str, Any] = {
        "world": WORLD, "suite": job.suite, "task_index": job.task, "seed": job.sample_seed,
        "source": "dagger1" if job.learner else "expert", "beta": job.beta,
        "instruction": world.instruction, "libero_success": bool(libero_success),
        "official_distance_m": round(float(world.initial.official_distance_m or 0.0), 4),
        "plan": " -> ".join(s.describe() for s in subgoals), "n_objects": len(world.info.objects),
        "noise_m": job.noise.offset_m[1] if job.noise else 0.0, "disturbance": "none",
        "sim_time_s": round(result.sim_time_s, 2), "lead_in": "",
    }
    with tempfile.TemporaryDirectory() as tmp:
        episodes = recorder.episodes(job.uid, outcomes, meta, Path(tmp))
        for episode in episodes:
            if len(subgoals) == 1:  # the whole task in one step: LIBERO's own sentence is its words
                episode = replace(episode, task=world.instruction)
            writer.stage(episode)
    frames = sum(e.length for e in episodes)
    return DemoResult(job.uid, bool(libero_success), frames, result.sim_time_s, result.failure)


def _learner(stack: StackConfig, world: Any, job: LiberoDemoJob) -> Any:
    """The hybrid's skills of `job.learner`: the checkpoint where it was trained, the scripted experts elsewhere."""
    learned = replace(stack, skills="learned").with_config("skills", LearnedSkillsConfig(
        checkpoint=job.learner, anomaly=None, fallback=ScriptedSkillsConfig(speed_scale=job.expert_speed)))
    return build_skills(learned, world)


def record_libero(root: Path, plan: LiberoRecordPlan, workers: int | None = None, progress: bool = True
                  ) -> tuple[list[DemoResult], dict[str, Any]]:
    """Record `plan` into `root` (episodes already there are skipped: resumable), then commit them."""
    from hvla.sim.libero.world import LiberoServerConfig, shared_server

    n_tasks = shared_server(LiberoServerConfig()).hello.suites  # suite -> number of tasks
    jobs = plan.jobs(n_tasks)
    writer = DatasetWriter(root, cameras=plan.cameras, extra_info={"world": WORLD})
    plan.save(root)
    done = writer.done_uids()
    todo = [j for j in jobs if not _recorded(j.uid, done)]
    results = map_jobs(run_libero_demo, [(j, str(root)) for j in todo], workers, f"record {len(todo)} LIBERO tasks",
                       progress)
    return results, writer.finalise()


def _recorded(uid: str, done: set[str]) -> bool:
    """A task's episodes are `<uid>` (one step) or `<uid>-<subgoal id>` (several)."""
    return uid in done or any(d.startswith(uid + "-") for d in done)


def summarise(results: Sequence[DemoResult]) -> str:
    """One line: how many tasks, how many met LIBERO's goal, and the commonest reasons of the others."""
    ok = sum(r.success for r in results)
    reasons = Counter((r.reason or "BDDL goal not met")[:90] for r in results if not r.success)
    why = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common(3))
    return (f"{len(results)} tasks recorded, {ok} met LIBERO's goal, {sum(r.frames for r in results)} frames"
            + (f" (failures: {why})" if why else ""))
