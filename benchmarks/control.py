"""Foundation benchmark: controller timings, simulator and renderer rates, scripted-expert success.

    .venv/bin/python benchmarks/control.py --seeds 100
    .venv/bin/python benchmarks/control.py --seeds 2 --plot docs/bench_control.png   # ~3 min on 2 cores

Prints markdown tables (units in the headers) and the machine they ran on; --plot draws them as bars.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import mujoco
import numpy as np
from plotting import Bars, Share, save_bars

from hvla.controllers import profiling
from hvla.core.messages import Plan, Subgoal
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.evaluation import default_skill_cases, evaluate_skills
from hvla.orchestration.executor import ExecutorConfig
from hvla.sim.world import CAMERAS, KitchenWorld, SimConfig


def _ms(samples: np.ndarray) -> tuple[float, float]:
    """Median and p99 of `samples` [s], in ms."""
    return float(np.median(samples) * 1e3), float(np.percentile(samples, 99) * 1e3)


def controller_rows() -> list[tuple[str, float, float, str]]:
    """(component, median [ms], p99 [ms], notes) per controller part."""
    ik_warm = profiling.time_ik(n=300, seed=0, seed_noise_rad=0.05)
    ik_cold = profiling.time_ik(n=300, seed=1, seed_noise_rad=None)
    rows = []
    for label, stats in (("IK solve, warm start (q + 0.05 rad)", ik_warm), ("IK solve, from ready pose", ik_cold)):
        med, p99 = _ms(np.asarray(stats.times_s))
        iters = np.asarray(stats.iterations)
        rows.append((label, med, p99, f"iters median {np.median(iters):.0f}, p99 {np.percentile(iters, 99):.0f}; "
                                      f"failures {stats.failures}/{len(iters)}"))
    for label, samples in (
        ("ruckig update (7 DoF)", profiling.time_trajectory_step()),
        ("safety check", profiling.time_safety_check()),
        ("pinocchio FK", profiling.time_fk()),
        ("pinocchio Jacobian", profiling.time_jacobian()),
    ):
        rows.append((label, *_ms(np.asarray(samples)), ""))
    return rows


def physics_rate_hz(seconds: float = 1.0) -> float:
    world = KitchenWorld(seed=0)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mujoco.mj_step(world.model, world.data)
        n += 1
    return n / (time.perf_counter() - t0)


def render_rates() -> list[tuple[str, float, float]]:
    """(camera, median [ms], rate [Hz]) per camera and image size."""
    rows = []
    for size in (128, 224):
        world = KitchenWorld(seed=0, config=SimConfig(image_height=size, image_width=size))
        for cam in CAMERAS:
            world.render(cam)  # renderer start-up is not part of the rate
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                world.render(cam)
                times.append(time.perf_counter() - t0)
            med = float(np.median(times))
            rows.append((f"{cam} {size}x{size} (rgb + depth)", med * 1e3, 1 / med))
        world.close()
    return rows


def loop_real_time_factor(seed: int = 3) -> tuple[float, float]:
    """A full pick_place at 10 Hz, rendering both cameras every step (as a vision policy would)."""
    stack = StackConfig(executor=ExecutorConfig(log_cameras=CAMERAS, retries=0, replans=0))
    world = build_world(seed, stack)
    executor = build_executor(world, stack)
    plan = Plan.sequence([Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"})])
    result = executor.run_plan(plan)
    return result.sim_time_s / result.wall_time_s, result.sim_time_s


def success_rows(n_seeds: int) -> list[tuple[str, Share, float, str]]:
    """(skill case, success, mean sim time of the successes [s], failure reasons) per case."""
    results = evaluate_skills(default_skill_cases(), range(n_seeds))
    by_case = defaultdict(list)
    for r in results:
        by_case[r.case].append(r)
    rows = []
    for case, rs in by_case.items():
        ok = [r for r in rs if r.success]
        failures = sorted({(r.reason or "")[:60] for r in rs if not r.success})
        rows.append((case, Share.of(r.success for r in rs),
                     float(np.mean([r.sim_time_s for r in ok])) if ok else float("nan"), "; ".join(failures)[:120]))
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="seeds per skill/object for scripted success")
    parser.add_argument("--plot", type=Path, default=None, help="draw the tables' numbers as a PNG here")
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {platform.system()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, python {platform.python_version()}, mujoco {mujoco.__version__}\n")
    print("## Controllers\n")
    controllers = controller_rows()
    print(table(("component", "median [ms]", "p99 [ms]", "notes"),
                [(name, f"{med:.3f}", f"{p99:.3f}", notes) for name, med, p99, notes in controllers]))
    print(f"\n## Simulation\n\nphysics step rate: {physics_rate_hz():.0f} steps/s (timestep 2 ms)\n")
    renders = render_rates()
    print(table(("camera", "median [ms]", "rate [Hz]"), [(c, f"{ms:.1f}", f"{hz:.0f}") for c, ms, hz in renders]))
    rtf, sim_s = loop_real_time_factor()
    print(f"\n10 Hz loop with both cameras rendered each step (pick_place, {sim_s:.1f} s simulated): "
          f"real-time factor {rtf:.1f}x\n")
    print(f"## Scripted experts ({args.seeds} seeds each, one attempt, oracle tokens)\n")
    experts = success_rows(args.seeds)
    print(table(("skill(object, target)", "success", "rate [%]", "mean sim time [s]", "failures"),
                [(c, ok.format("{hits}/{total}"), ok.format("{pct:.1f}"), f"{sim:.1f}", why)
                 for c, ok, sim, why in experts]))
    if args.plot is not None:
        print(f"\nplot: {plot(controllers, renders, experts, args.seeds, machine, args.plot)}")


def plot(controllers: list[tuple[str, float, float, str]], renders: list[tuple[str, float, float]],
         experts: list[tuple[str, Share, float, str]], seeds: int, machine: str, path: Path) -> Path:
    """The three tables as bars: controller latency per part (median, p99; log axis: us to ms), render
    time per camera, scripted success per case."""
    return save_bars(path, "benchmarks/control.py", machine, [
        Bars("controllers: latency per call", "latency [ms], log scale", tuple(r[0] for r in controllers),
             {"median": tuple(r[1] for r in controllers), "p99": tuple(r[2] for r in controllers)},
             labels="{:.3g}", log=True),
        Bars("renderer: one camera frame (rgb + depth)", "median time per frame [ms]", tuple(r[0] for r in renders),
             {"median": tuple(r[1] for r in renders)}, labels="{:.1f}"),
        Bars(f"scripted experts, {seeds} seeds each, one attempt, oracle tokens", "success [%]",
             tuple(r[0] for r in experts), {"scripted": tuple(r[1].pct for r in experts)}, labels="{:.0f}",
             top=100.0),
    ])


if __name__ == "__main__":
    main()
