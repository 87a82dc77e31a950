"""LIBERO-PRO: the same stack on LIBERO's suites and on the perturbed variants LIBERO-PRO ships, side by side.

    .venv/bin/python benchmarks/libero_pro.py --episodes-per-task 5                           # modular (scripted)
    .venv/bin/python benchmarks/libero_pro.py --skills learned --checkpoint artifacts/skills/libero_policy.pt
    .venv/bin/python benchmarks/libero_pro.py --perturbations swap,lan --plot docs/bench_libero_pro.png

Each perturbation is a LIBERO-PRO suite of the same ten tasks, by LIBERO's protocol (`benchmarks/libero.py`:
official init states of the variant, the base suite's step cap, LIBERO's `check_success()`):
- `swap`: the objects' initial positions exchanged (LIBERO-PRO's "initial states");
- `object`: the manipulated objects replaced by others of another look and size ("objects");
- `lan`: the instruction reworded ("instructions");
- `task`: a new task in the same scene ("tasks");
- `robot`: the base suite with the arm started N(0, 0.15 rad) per joint away from its init state (LIBERO-Plus's
  robot initial-state perturbation, which took VLAs from 95 % to under 30 %).
LIBERO-PRO's fourth dimension, environments (`*_env`), ships without its BDDL files or init states in the
offline package (`libero-pro audit` lists them as unavailable), so it cannot run here. The drop is the
unperturbed rate minus the perturbed one, in points; the published line is LIBERO-PRO's finding that VLAs
above 90 % on LIBERO fall to 0.0 % under its generalised setting. Episodes are cached with libero.py's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from libero import SUITES, add_stack_arguments, machine, run_suite, stack_name
from plotting import Bars, Share, save_bars
from results_cache import JsonlCache

PERTURBATIONS = {"swap": "positions swapped", "object": "objects replaced", "lan": "instruction reworded",
                 "task": "new task", "robot": "arm start shifted"}
ROBOT_SHIFT_RAD = 0.15  # "robot": the base suite with the arm started N(0, 0.15 rad) per joint off its init state
PUBLISHED = "LIBERO-PRO: VLAs above 90 % on LIBERO fall to 0.0 % under its generalised setting"


def variant(suite: str, perturbation: str) -> str:
    return suite if perturbation in ("none", "robot") else f"{suite}_{perturbation}"


def rows_of(args: argparse.Namespace, suite: str, perturbation: str, tasks: list[int] | None, cache: JsonlCache
            ) -> list[dict]:
    shifted = argparse.Namespace(**{**vars(args), "arm_shift": ROBOT_SHIFT_RAD if perturbation == "robot" else 0.0})
    return run_suite(shifted, variant(suite, perturbation), tasks, cache)


def table(rates: dict[str, dict[str, Share]], perturbations: list[str]) -> list[str]:
    """Markdown rows: one per suite, the unperturbed rate, each perturbation's, their mean and its drop."""
    lines = ["| suite | none | " + " | ".join(f"{p} ({PERTURBATIONS[p]})" for p in perturbations)
             + " | perturbed mean | drop [points] |",
             "|---|---|" + "---|" * (len(perturbations) + 2)]
    for suite, by in rates.items():
        perturbed = [by[p].pct for p in perturbations if by[p].total]
        mean = sum(perturbed) / len(perturbed) if perturbed else float("nan")
        drop = by["none"].pct - mean
        lines.append(f"| {suite} | {by['none'].format()} | " + " | ".join(by[p].format() for p in perturbations)
                     + f" | {mean:.1f} | {drop:.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated base suites")
    parser.add_argument("--perturbations", default=",".join(PERTURBATIONS), help=f"of {list(PERTURBATIONS)}")
    parser.add_argument("--tasks", default="", help="comma-separated task indices (default: every task)")
    parser.add_argument("--episodes-per-task", type=int, default=5, help="init states 0..N-1 of each variant")
    add_stack_arguments(parser)
    parser.add_argument("--cache", type=Path, default=Path("data/bench/libero.jsonl"))
    parser.add_argument("--plot", type=Path, default=None, help="PNG: success per suite and perturbation")
    args = parser.parse_args(argv)
    perturbations = [p for p in args.perturbations.split(",") if p]
    unknown = [p for p in perturbations if p not in PERTURBATIONS]
    if unknown:
        print(f"error: unknown perturbations {unknown}; known: {list(PERTURBATIONS)} (environments: not shipped)",
              file=sys.stderr)
        return 2
    suites = [s for s in args.suites.split(",") if s]
    if not set(suites) <= set(SUITES):
        print(f"error: --suites takes {SUITES}", file=sys.stderr)
        return 2
    cache = JsonlCache(args.cache)
    tasks = [int(t) for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    rates: dict[str, dict[str, Share]] = {}
    for suite in suites:
        rates[suite] = {p: Share.of(r["success"] for r in rows_of(args, suite, p, tasks, cache))
                        for p in ["none", *perturbations]}
    print(f"\nmachine: {machine()}; {args.episodes_per_task} init states per task; LIBERO check_success()")
    print(f"stack: {stack_name(args)}\n")
    print("\n".join(table(rates, perturbations)))
    print(f"\npublished: {PUBLISHED}")
    if args.plot:
        categories = tuple(["none", *perturbations])
        values = {suite: tuple(by[c].pct for c in categories) for suite, by in rates.items()}
        path = save_bars(args.plot, "benchmarks/libero_pro.py", machine(), [Bars(
            f"success under LIBERO-PRO's perturbations ({stack_name(args)[:70]})", "success [%]", categories,
            values, labels="{:.0f}", top=100.0)])
        print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
