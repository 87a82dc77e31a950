"""Per-tick cost of the 10 Hz sense-act loop, part by part, on an idle machine and beside competing CPU load.

    .venv/bin/python benchmarks/tick.py                              # yolo + learned, 3 held-out kitchens, idle
    .venv/bin/python benchmarks/tick.py --load 0,1 --json runs/tick.json   # idle, then beside one CPU-bound process
    .venv/bin/python benchmarks/tick.py --perception oracle --skills scripted --seeds 1 --seconds 5

On a real robot the frames arrive and the physics runs by themselves, so the product's own cost per tick is
perceive + policy act + control. Each kitchen runs what `hvla run "<instruction>" --seed N` runs (the builder's
stack, planning, the executor's loop with its retries and re-planning; no logs), with the parts the builder
returns wrapped in stopwatches (nothing inside the stack changes):

- perceive: `Perception.perceive` of the tick's observation, every camera's frames -> tokens. The frames are
  rendered before that, in `Robot.observe`: the simulator's cost, EXCLUDED (it is the `render` row).
- act: `SkillPolicy.act` (the learned policy's anomaly score included: it is computed there).
- control: `Controller.follow` for one 0.1 s period (IK per waypoint, ruckig and the safety layer per control
  step) minus the time spent inside the robot: physics stepping (`Robot.command`) and state reads
  (`Robot.observe` without cameras) are EXCLUDED (the `physics` and `state reads` rows).
- tick: their sum, per tick.

Every part is timed on three clocks: thread CPU (time.thread_time: the calling thread only), process CPU
(time.process_time: every thread of the process, so a runtime's worker threads show up there and not in the
thread column) and wall (time.perf_counter). The real-time factors are simulated time over the simulator's own wall
time (physics + rendering every tick's cameras + state reads) and over the whole loop's.
`--load N` starts N CPU-bound processes (busy loops) before measuring and ends them after; `--load 0,1` measures
idle and then beside one. Kitchens are seeds 0.. as in `benchmarks/loop.py` (demonstrations use 1000.., DAgger
50000..: no policy was trained on them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from results_cache import JsonlCache

from hvla.core.errors import HvlaError
from hvla.orchestration.builder import StackConfig, build_executor, build_skills, build_world
from hvla.perception.yolo import YoloConfig

INSTRUCTION = "put the banana in the bowl, then wipe the counter"
PARTS = ("perceive", "act", "control")  # the product's own cost per tick; "tick" is their sum
SIM_PARTS = ("render", "physics", "state reads")  # the simulator's cost: not part of the tick
CLOCKS = ("thread", "process", "wall")
BUSY_LOOP = "while True:\n    pass\n"


@dataclass(frozen=True)
class Clock:
    """One reading (or difference) of the three clocks [s]."""

    thread_s: float = 0.0
    process_s: float = 0.0
    wall_s: float = 0.0

    @staticmethod
    def now() -> Clock:
        return Clock(time.thread_time(), time.process_time(), time.perf_counter())

    def __sub__(self, other: Clock) -> Clock:
        return Clock(self.thread_s - other.thread_s, self.process_s - other.process_s, self.wall_s - other.wall_s)

    def ms(self) -> dict[str, float]:
        """{clock: milliseconds}, the JSON form of one sample."""
        return {"thread": 1e3 * self.thread_s, "process": 1e3 * self.process_s, "wall": 1e3 * self.wall_s}


@dataclass
class TickLog:
    """Per-tick samples of one kitchen, filled by the wrappers below.

    A tick is one `act`: the `perceive` before it (of the observation it acts on) and the `follow` after it.
    A perceive no act follows (the subgoal's predicate held) opens no tick.
    """

    ticks: list[dict[str, Clock]] = field(default_factory=list)
    # part -> [thread, process, wall] seconds in the robot; plain floats: a robot call is timed ~60 times a tick
    sim: dict[str, list[float]] = field(default_factory=lambda: {p: [0.0, 0.0, 0.0] for p in SIM_PARTS})
    _last_perceive: Clock | None = None
    _open: dict[str, Clock] | None = None

    def perceived(self, sample: Clock) -> None:
        self._last_perceive = sample

    def acted(self, sample: Clock) -> None:
        self._open = {"perceive": self._last_perceive or Clock(), "act": sample}

    def controlled(self, sample: Clock) -> None:
        if self._open is not None:
            self.ticks.append({**self._open, "control": sample})
        self._open = None

    def inside_robot(self) -> Clock:
        """Time spent in the robot so far (render + physics + state reads)."""
        return Clock(*(sum(clocks) for clocks in zip(*self.sim.values())))


class TimedRobot:
    """The world as the robot: times rendering, physics and state reads, which the tick excludes.

    Its stopwatch costs about 3 us per call outside the timed span, which lands in `control` (~50 calls per
    tick: ~0.15 ms); it reads the clocks directly, no objects, to keep that small.
    """

    def __init__(self, world: Any, log: TickLog) -> None:
        self.world, self.log = world, log

    def __getattr__(self, name: str) -> Any:  # control_dt_s, limits, succeeded, ...
        return getattr(self.world, name)

    def observe(self, cameras: Sequence[str] | None = None) -> Any:
        th, pr, wa = time.thread_time(), time.process_time(), time.perf_counter()
        obs = self.world.observe(cameras)
        self._add("state reads" if cameras is not None and not cameras else "render", th, pr, wa)
        return obs

    def command(self, cmd: Any) -> None:
        th, pr, wa = time.thread_time(), time.process_time(), time.perf_counter()
        self.world.command(cmd)
        self._add("physics", th, pr, wa)

    def _add(self, part: str, th: float, pr: float, wa: float) -> None:
        total = self.log.sim[part]
        total[0] += time.thread_time() - th
        total[1] += time.process_time() - pr
        total[2] += time.perf_counter() - wa


class TimedPerception:
    """The front end, its `perceive` timed (frames already rendered: rendering is not in it)."""

    def __init__(self, inner: Any, log: TickLog) -> None:
        self.inner, self.log = inner, log

    def __getattr__(self, name: str) -> Any:  # cameras, reset, ...
        return getattr(self.inner, name)

    def perceive(self, obs: Any) -> Any:
        t0 = Clock.now()
        scene = self.inner.perceive(obs)
        self.log.perceived(Clock.now() - t0)
        return scene


class TimedPolicy:
    """The skill policy, its `act` timed (the monitors still read its `anomaly` through this wrapper)."""

    def __init__(self, inner: Any, log: TickLog) -> None:
        self.inner, self.log = inner, log

    def __getattr__(self, name: str) -> Any:  # anomaly, cameras, reset, ...
        return getattr(self.inner, name)

    def act(self, scene: Any, proprio: Any) -> Any:
        t0 = Clock.now()
        chunk = self.inner.act(scene, proprio)
        self.log.acted(Clock.now() - t0)
        return chunk


class TimedController:
    """The controller, its `follow` timed without the time spent inside the robot (physics, state reads)."""

    def __init__(self, inner: Any, log: TickLog) -> None:
        self.inner, self.log = inner, log

    def __getattr__(self, name: str) -> Any:  # hold, estop, estopped, ...
        return getattr(self.inner, name)

    def follow(self, chunk: Any, robot: Any, duration_s: float | None = None) -> Any:
        t0, robot0 = Clock.now(), self.log.inside_robot()
        result = self.inner.follow(chunk, robot, duration_s)
        self.log.controlled(Clock.now() - t0 - (self.log.inside_robot() - robot0))
        return result


def measure_kitchen(instruction: str, seed: int, stack: StackConfig, seconds: float | None = None) -> dict[str, Any]:
    """Plan and run `instruction` in the kitchen of `seed` as `hvla run` does, timing every tick.

    `seconds` caps the episode's robot-clock time (the executor's own `episode_timeout_s`; None: to the end).
    Returns the raw per-tick samples [ms] and the simulator's totals, as JSON.
    """
    if seconds is not None:
        stack = replace(stack, executor=replace(stack.executor, episode_timeout_s=seconds))
    log = TickLog()
    world = build_world(seed, stack)
    try:
        executor = build_executor(world, stack, robot=TimedRobot(world, log),
                                  perception=TimedPerception(stack.build("perception"), log),
                                  policy=TimedPolicy(build_skills(stack, world), log))
        executor.controller = TimedController(executor.controller, log)
        wall0 = time.perf_counter()
        _, scene = executor.observe()
        assert executor.planner is not None  # build_executor builds the stack's planner
        result = executor.run_plan(executor.planner.plan(instruction, scene))
        wall_s = time.perf_counter() - wall0
    finally:
        world.close()
    return {
        "seed": seed, "success": result.success, "failure": result.failure, "sim_time_s": result.sim_time_s,
        "wall_time_s": wall_s, "ticks": [{part: sample.ms() for part, sample in tick.items()} for tick in log.ticks],
        "sim": {part: Clock(*total).ms() for part, total in log.sim.items()},
    }


@contextlib.contextmanager
def competing_load(n: int) -> Iterator[list[subprocess.Popen]]:
    """`n` CPU-bound processes (Python busy loops) for the time of the block; each is killed after it."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def measure(instruction: str, seeds: Sequence[int], stack: StackConfig, load: int, seconds: float | None = None,
            cache: JsonlCache | None = None) -> list[dict[str, Any]]:
    """Every kitchen of `seeds`, one after the other in this process, beside `load` competing processes.

    A kitchen already in `cache` (same stack, instruction, load, cap) is read back, not run again."""
    runs = []
    with competing_load(load):
        for seed in seeds:
            key = json.dumps([stack_name(stack), instruction, load, seed, seconds])
            if cache is not None and key in cache:
                runs.append(cache.rows[key])
                continue
            try:
                run = measure_kitchen(instruction, seed, stack, seconds)
            except HvlaError as exc:  # bad input (an unknown object...): nothing moved, no ticks
                run = {"seed": seed, "success": False, "failure": f"bad input: {exc}", "sim_time_s": 0.0,
                       "wall_time_s": 0.0, "ticks": [], "sim": {p: Clock().ms() for p in SIM_PARTS}}
            run = {**run, "load": load, "loadavg_1min": os.getloadavg()[0]}
            if cache is not None:
                cache.add(key, run)
            runs.append(run)
    return runs


def stack_name(stack: StackConfig) -> str:
    precision = getattr(stack.configs.get("perception"), "precision", None)
    detector = f" ({precision})" if precision not in (None, "fp32") else ""
    return (f"perception={stack.perception}{detector} skills={stack.skills} controller={stack.controller} "
            f"planner={stack.planner}")


def tick_samples(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """{part: {clock: (n_ticks,) ms}} over every tick of `runs`, with "tick" = perceive + act + control."""
    ticks = [t for run in runs for t in run["ticks"]]
    out = {part: {c: np.array([t[part][c] for t in ticks], float) for c in CLOCKS} for part in PARTS}
    out["tick"] = {c: sum(out[part][c] for part in PARTS) if ticks else np.zeros(0) for c in CLOCKS}
    return out


@dataclass(frozen=True)
class Row:
    """One line of the table: a part's median, p95 and max per clock [ms]."""

    part: str
    thread_ms: tuple[float, float, float]
    process_ms: tuple[float, float, float]
    wall_ms: tuple[float, float, float]


def _stats(samples: np.ndarray) -> tuple[float, float, float]:
    if samples.size == 0:
        return (float("nan"),) * 3
    return float(np.median(samples)), float(np.percentile(samples, 95)), float(samples.max())


def summarise(runs: Sequence[dict[str, Any]]) -> list[Row]:
    """The table's rows: perceive, act, control, tick."""
    samples = tick_samples(runs)
    return [Row(part, _stats(s["thread"]), _stats(s["process"]), _stats(s["wall"])) for part, s in samples.items()]


@dataclass(frozen=True)
class SimSummary:
    """The simulator's cost per tick [ms wall] and the real-time factors."""

    per_tick_ms: dict[str, float]  # part -> mean wall ms per tick
    sim_rtf: float  # simulated s per wall s of the simulator alone (physics + render + state reads)
    loop_rtf: float  # simulated s per wall s of the whole loop (the tick's parts, the executor's, the sim's)
    ticks: int
    sim_time_s: float


def simulator(runs: Sequence[dict[str, Any]]) -> SimSummary:
    n = sum(len(r["ticks"]) for r in runs)
    sim_s = sum(r["sim_time_s"] for r in runs)
    totals = {p: sum(r["sim"][p]["wall"] for r in runs) for p in SIM_PARTS}
    sim_wall_s = 1e-3 * sum(totals.values())
    loop_wall_s = sum(r["wall_time_s"] for r in runs)
    return SimSummary({p: v / max(n, 1) for p, v in totals.items()}, sim_s / sim_wall_s if sim_wall_s else 0.0,
                      sim_s / loop_wall_s if loop_wall_s else 0.0, n, sim_s)


def table(rows: Sequence[Row]) -> str:
    """Markdown: per part, thread CPU and wall median / p95 / max, and process CPU median / p95 [ms]."""
    header = ("part", "CPU median [ms]", "CPU p95 [ms]", "CPU max [ms]", "wall median [ms]", "wall p95 [ms]",
              "wall max [ms]", "process CPU median [ms]", "process CPU p95 [ms]")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        name = f"**{r.part}**" if r.part == "tick" else r.part
        cells = (*r.thread_ms, *r.wall_ms, *r.process_ms[:2])
        lines.append("| " + " | ".join((name, *(f"{v:.2f}" for v in cells))) + " |")
    return "\n".join(lines)


def report(runs: Sequence[dict[str, Any]], load: int) -> str:
    """The table of one load level, its kitchens' outcomes and the simulator's rates."""
    sim = simulator(runs)
    ok = sum(r["success"] for r in runs)
    loads = ", ".join(f"{r['loadavg_1min']:.2f}" for r in runs)
    lines = [f"## {'idle' if load == 0 else f'beside {load} CPU-bound process' + ('es' if load > 1 else '')}\n",
             f"{sim.ticks} ticks over {len(runs)} kitchens ({sim.sim_time_s:.1f} s simulated), "
             f"success {ok}/{len(runs)}; 1-min load average after each kitchen: {loads}\n", table(summarise(runs)),
             "\nnot in the tick (the simulator's cost), mean wall per tick: "
             + ", ".join(f"{p} {ms:.1f} ms" for p, ms in sim.per_tick_ms.items()),
             f"real-time factor with cameras: simulator alone {sim.sim_rtf:.2f}x, whole loop {sim.loop_rtf:.2f}x"]
    lines += [f"- seed {r['seed']}: {r['failure']}" for r in runs if not r["success"]]
    return "\n".join(lines)


def machine() -> str:
    up = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"machine: {platform.processor() or platform.machine()}, {platform.system()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}; load average (1, 5, 15 min) at start: {up}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruction", default=INSTRUCTION)
    parser.add_argument("--perception", default="yolo")
    parser.add_argument("--skills", default="learned")
    parser.add_argument("--planner", default=StackConfig.planner)
    parser.add_argument("--controller", default=StackConfig.controller)
    parser.add_argument("--precision", default="fp32", help="the yolo detector's: fp32 | int8 (perception/quantize.py)")
    parser.add_argument("--seeds", type=int, default=3, help="kitchens first_seed..first_seed+N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=None, help="cap each episode's simulated time [s]")
    parser.add_argument("--load", default="0", help="competing CPU-bound processes, comma-separated levels (0,1)")
    parser.add_argument("--json", type=Path, default=None, help="write the raw per-tick samples here")
    parser.add_argument("--cache", type=Path, default=None, help="JSON lines of finished kitchens: resume from it")
    args = parser.parse_args()
    configs = {"perception": YoloConfig(precision=args.precision)} if args.perception == "yolo" else {}
    stack = StackConfig(perception=args.perception, skills=args.skills, planner=args.planner,
                        controller=args.controller, configs=configs)
    stack.validate()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    cache = JsonlCache(args.cache) if args.cache is not None else None
    print(f"{machine()}\nstack: {stack_name(stack)}; instruction: {args.instruction!r}; "
          f"seeds {seeds.start}..{seeds.stop - 1}\n")
    results: dict[int, list[dict[str, Any]]] = {}
    for load in (int(n) for n in args.load.split(",")):
        results[load] = measure(args.instruction, seeds, stack, load, args.seconds, cache)
        print(report(results[load], load) + "\n", flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "stack": asdict(stack) | {"configs": None},
                                         "instruction": args.instruction, "runs": results}, default=str))
        print(f"raw samples: {args.json}")


if __name__ == "__main__":
    main()
