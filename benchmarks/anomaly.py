"""Anomaly detection benchmark: does the learned policy's detector warn when, and only when, things are unusual?

    .venv/bin/python benchmarks/anomaly.py --seeds 5 --disturbance-seeds 10
    .venv/bin/python benchmarks/anomaly.py --detector data/runs/anomaly.npz --learned data/runs/bc/policy.pt

The learned skill policy runs with its anomaly detector (`hvla train anomaly`; default: the committed
one) on held-out kitchens 10000.. (oracle tokens, one attempt per episode), in normal scenes and under
conditions the training data never showed: the mango, an object moved mid-grasp (3-5 cm, as in the
skills benchmark, and 10-15 cm), tokens missing from frames (p = 0.3 and 0.6) and three extra
distractors. Per condition it prints the success rate, the share of episodes with at least one
anomaly warning (the `AnomalyMonitor`: score over the limit for 3 steps in a row), the share of
failed episodes that were warned about (recall) and of warned episodes that failed (precision), and
the median of each episode's highest score (1 = the limit: the 99th percentile of held-out normal frames).
A good detector: few warnings in normal scenes, many where the policy fails.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np

from hvla.orchestration.rollouts import PolicySpec, RolloutResult, default_workers
from hvla.skills.data.disturb import Disturbance
from skills import FIRST_SEED, Cache, disturbance_cases, main_cases, mango_cases, run

CONDITIONS: dict[str, tuple[str, Disturbance]] = {  # name: (cases, disturbance)
    "normal": ("main", Disturbance()),
    "mango (never in training)": ("mango", Disturbance()),
    "moved 3-5 cm mid-grasp": ("disturbed", Disturbance("moved_object")),
    "moved 10-15 cm mid-grasp": ("disturbed", Disturbance("moved_object", shift_m=(0.10, 0.15))),
    "tokens missing p=0.3": ("disturbed", Disturbance("occlusion", drop_p=0.3)),
    "tokens missing p=0.6": ("disturbed", Disturbance("occlusion", drop_p=0.6)),
    "3 extra distractors": ("disturbed", Disturbance("distractors")),
}


def run_condition(spec: PolicySpec, name: str, seeds: range, cache: Cache, workers: int) -> list[RolloutResult]:
    which, disturbance = CONDITIONS[name]
    cases = {"main": main_cases, "mango": mango_cases, "disturbed": disturbance_cases}[which]()
    results = run({"learned": spec}, cases, seeds, disturbance, cache, workers, name, condition=name)
    return [r for per_case in results["learned"].values() for r in per_case]


def share(num: int, den: int) -> str:
    return f"{100 * num / den:.0f} % ({num}/{den})" if den else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="held-out seeds per case in normal scenes and mango")
    parser.add_argument("--disturbance-seeds", type=int, default=10, help="seeds per case under each disturbance")
    parser.add_argument("--learned", default=None, help="policy checkpoint (default: the committed one)")
    parser.add_argument("--detector", default="committed", help="anomaly detector file (default: the committed one)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated condition names")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cache", type=Path, default=Path("data/bench/anomaly.jsonl"))
    args = parser.parse_args()
    spec = PolicySpec.learned(args.learned, anomaly=args.detector)
    cache = Cache(args.cache)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), {args.workers} workers; held-out "
          f"seeds from {FIRST_SEED}; oracle tokens; one attempt per episode; detector {args.detector}")
    print("\n| condition | episodes | success | warned | failed ones warned (recall) | warned ones failed "
          "(precision) | median highest score |\n|---|---|---|---|---|---|---|")
    for name in args.conditions.split(","):
        n = args.seeds if CONDITIONS[name][0] != "disturbed" else args.disturbance_seeds
        results = run_condition(spec, name, range(FIRST_SEED, FIRST_SEED + n), cache, args.workers)
        ok = [r.success for r in results]
        warned = [bool(r.warnings) for r in results]
        failed_warned = sum(w and not s for s, w in zip(ok, warned))
        scores = [r.max_anomaly for r in results if r.max_anomaly is not None]
        print(f"| {name} | {len(results)} | {share(sum(ok), len(ok))} | {share(sum(warned), len(warned))} | "
              f"{share(failed_warned, len(ok) - sum(ok))} | {share(failed_warned, sum(warned))} | "
              f"{np.median(scores) if scores else float('nan'):.2f} |")


if __name__ == "__main__":
    main()
