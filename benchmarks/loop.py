"""Whole-loop benchmark: one instruction over many kitchens, with chosen layer implementations.

    .venv/bin/python benchmarks/loop.py --seeds 50
    .venv/bin/python benchmarks/loop.py --seeds 50 --compare perception=oracle,yolo
    .venv/bin/python benchmarks/loop.py --seeds 50 --stack skills=scripted --stack skills=learned \
        --stack skills=learned+perception=yolo        # any layer mix per row
    .venv/bin/python benchmarks/loop.py --seeds 10 --workers 1 --realtime --inference async \
        --stack skills=learned+perception=yolo        # paced to the wall clock: missed 10 Hz deadlines

Each seed runs exactly what `hvla run "<instruction>" --seed N --json` runs (planning, retries,
re-planning), without episode logs. Prints the success rate, per-subgoal outcomes and timings, and how many
episodes the learned policy's anomaly monitor warned in; with --realtime also the missed deadlines (run it
with --workers 1: parallel episodes take each other's cores).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from hvla.core.errors import HvlaError
from hvla.orchestration.builder import StackConfig
from hvla.orchestration.executor import ExecutorConfig
from hvla.orchestration.session import run_episode

INSTRUCTION = "put the banana in the bowl, then wipe the counter"


def _one(job: tuple[str, int, StackConfig]) -> dict[str, Any]:
    instruction, seed, stack = job
    try:
        return run_episode(instruction, seed, stack)
    except HvlaError as exc:
        return {"seed": seed, "success": False, "failure": f"bad input: {exc}", "subgoals": [],
                "sim_time_s": 0.0, "wall_time_s": 0.0}


def run_many(instruction: str, seeds: range, stack: StackConfig, workers: int) -> list[dict[str, Any]]:
    jobs = [(instruction, s, stack) for s in seeds]
    if workers == 1:
        return [_one(j) for j in jobs]
    with mp.get_context("spawn").Pool(workers) as pool:
        return list(pool.imap(_one, jobs))


def summarise(name: str, reports: list[dict[str, Any]]) -> tuple[str, ...]:
    ok = [r for r in reports if r["success"]]
    attempts = [sg["attempts"] for r in reports for sg in r["subgoals"]]
    retried = sum(a > 1 for a in attempts)
    return (
        name, f"{len(ok)}/{len(reports)}", f"{100 * len(ok) / len(reports):.1f}",
        f"{np.median([r['sim_time_s'] for r in ok]) if ok else float('nan'):.1f}",
        f"{np.median([r['wall_time_s'] for r in ok]) if ok else float('nan'):.1f}",
        str(retried), str(sum(r.get("replans", 0) for r in reports)),
        str(sum(bool(r.get("warnings")) for r in reports)),
        _deadlines(reports),
    )


def _deadlines(reports: list[dict[str, Any]]) -> str:
    """Missed deadlines / ticks over the episodes run in real time ('-' otherwise)."""
    runs = [r["deadlines"] for r in reports if r.get("deadlines")]
    if not runs:
        return "-"
    return (f"{sum(d['missed'] for d in runs)} / {sum(d['ticks'] for d in runs)} "
            f"(worst {max(d['worst_late_ms'] for d in runs):.0f} ms late)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruction", default=INSTRUCTION)
    parser.add_argument("--seeds", type=int, default=50, help="seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--compare", default="", help="layer=name1,name2 (e.g. perception=oracle,yolo)")
    parser.add_argument("--stack", action="append", default=[],
                        help="one row: layer=name pairs joined by '+' (e.g. skills=learned+perception=yolo)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--inference", default="sync", help="sync | async (perceive and act beside the controllers)")
    parser.add_argument("--realtime", action="store_true", help="pace to the wall clock, count missed deadlines")
    args = parser.parse_args()
    base = StackConfig(executor=ExecutorConfig(inference=args.inference, realtime=args.realtime))
    stacks = {"default": base}
    if args.compare:
        layer, names = args.compare.split("=")
        stacks = {f"{layer}={n}": replace(base, **{layer: n}) for n in names.split(",")}
    if args.stack:
        stacks = {row: replace(base, **dict(pair.split("=") for pair in row.split("+"))) for row in args.stack}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; instruction: {args.instruction!r}; "
          f"seeds {seeds.start}..{seeds.stop - 1}\n")
    rows, failures, failed_seeds = [], {}, {}
    for name, stack in stacks.items():
        reports = run_many(args.instruction, seeds, stack, args.workers)
        rows.append(summarise(name, reports))
        failures[name] = Counter((r["failure"] or "")[:90] for r in reports if not r["success"])
        failed_seeds[name] = [r["seed"] for r in reports if not r["success"]]
    header = ("stack", "success", "rate [%]", "median sim [s]", "median wall [s]", "subgoals retried", "replans",
              "episodes with anomaly warnings", "missed deadlines / ticks")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for name, counts in failures.items():
        for reason, n in counts.most_common(5):
            print(f"- {name}: {n} x {reason}")
    for name, seeds_failed in failed_seeds.items():
        print(f"- {name}: failed seeds {seeds_failed}")


if __name__ == "__main__":
    main()
