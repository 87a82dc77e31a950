"""Modular vs end-to-end vs hybrid: the chapter's three ways to solve a task, on the same held-out kitchens.

    .venv/bin/python benchmarks/approaches.py --seeds 8 --disturbance-seeds 6 --plot runs/bench_approaches.png

- modular: the offline planner turns the operator's sentence into a subgoal, the trained detector
  (yolo) into object tokens, the scripted expert into waypoints. No learned skill in the loop.
- end-to-end: one network from the two camera images, the sentence (MiniLM) and proprioception to
  waypoint chunks (`--skills e2e`). No planner, no tokens, no expert.
- hybrid (hvla): planner + detector tokens + the learned object-centric skill policy.
All three end in the same controllers (IK, ruckig, safety). Every sentence comes from
`instructions.HELD_OUT_TEMPLATES`, phrasings the end-to-end network never trained on; a stack whose
planner gets the sentence wrong fails that case. Seeds start at 10000 (never in any training set).
Each episode is one attempt through the executor loop `hvla run` uses; results are cached in --cache.

Disturbances: `moved_object` (the object jumps 3-5 cm as the hand closes in) and `camera_occlusion`
(each camera frame, with p = 0.3, has a solid box covering 30-50 % of its side 10 cm from the lens:
it disturbs detector and pixels alike; the token-dropout `occlusion` of benchmarks/skills.py would
not reach the end-to-end network).

How the end-to-end checkpoint was made (both steps resumable; the exact command is in artifacts/MANIFEST):
    for s in "pick_place 160" "pick 80" "wipe 40"; do set -- $s
        hvla data record --skill $1 --episodes $2 --first-seed 1000 --cameras scene,wrist --out data/e2e/$1; done
    hvla train e2e --data data/e2e/pick_place --data data/e2e/pick --data data/e2e/wipe --out data/runs/e2e \
        --epochs 40 --steps-per-epoch 200 --max-minutes 35 --register   # early stop at 27 epochs, 11 min
Data efficiency: the same training with `--episodes-per-skill 40 --out data/runs/e2e_half` (118 episodes), then
`benchmarks/approaches.py --conditions none --e2e data/runs/e2e_half/e2e.pt` (measured: 0 %, vs 14 % at 274).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
from plotting import Bars, save_bars

from hvla.orchestration.rollouts import PolicySpec, RolloutResult, default_workers
from hvla.skills.data.disturb import Disturbance
from hvla.skills.data.record import SubgoalSpec
from skills import FIRST_SEED, Cache, case_jobs, failures, run, skill_of, success, success_bars

STACKS = ("modular", "end-to-end", "hybrid")
CONDITIONS = ("none", "moved_object", "camera_occlusion")


def cases(disturbed: bool = False) -> list[tuple[str, tuple[SubgoalSpec, ...], object, str]]:
    """(name, subgoals, SkillCase, the operator's sentence); the sentence's template turns with the case."""
    from hvla.skills.e2e.instructions import HELD_OUT_TEMPLATES, phrase  # torch: only where sentences are made

    picked = [("pick", "banana", None), ("pick", "apple", None), ("pick_place", "lemon", "bowl"),
              ("pick_place", "apple", "plate")]
    if not disturbed:
        picked += [("pick", "lemon", None), ("pick_place", "banana", "bowl"), ("pick_place", "banana", "plate"),
                   ("wipe", "sponge", None)]
    out = []
    for i, (skill, obj, target) in enumerate(picked):
        name, subgoals, case = case_jobs(skill, obj, target)
        templates = HELD_OUT_TEMPLATES[skill]
        sentence = phrase(skill, dict(subgoals[-1].args), templates[i % len(templates)])
        out.append((name, subgoals, case, sentence))
    return out


def planner_check(sentences: dict[str, str], expected: dict[str, tuple[SubgoalSpec, ...]], seed: int
                  ) -> dict[str, bool]:
    """Per case: does the offline planner turn its sentence into the intended subgoal (on the detector's
    tokens of the kitchen of `seed`)? Prints each sentence with the verdict."""
    from hvla.core.errors import HvlaError
    from hvla.orchestration.builder import StackConfig, build_world
    from hvla.perception.base import PERCEPTION
    from hvla.planner.registry import PLANNERS

    world = build_world(seed, StackConfig(perception="yolo"))
    perception = PERCEPTION.get("yolo")()
    scene = perception.perceive(world.observe(perception.cameras))
    world.close()
    planner = PLANNERS.get("offline")()
    out = {}
    for name, sentence in sentences.items():
        try:
            got = [(sg.skill, dict(sg.args)) for sg in planner.plan(sentence, scene).subgoals()]
        except HvlaError as exc:
            got = [("refused", {"error": str(exc)})]
        out[name] = got == [(sg.skill, dict(sg.args)) for sg in expected[name]]
        print(f"- '{sentence}' -> {name}: planner {'right' if out[name] else f'WRONG: {got}'}")
    return out


def stack_cases(stack: str, chosen, plans: dict[str, bool]):
    """The runner's cases for one stack: words for the end-to-end net, the planned subgoal for the others."""
    out = []
    for name, subgoals, case, sentence in chosen:
        if stack == "end-to-end":
            last = subgoals[-1]
            spec = SubgoalSpec(last.id, last.skill, last.args, sentence)
            out.append((name, (spec,), case))
        elif plans[name]:
            out.append((name, subgoals, case))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8, help="held-out seeds per case (10000..)")
    parser.add_argument("--disturbance-seeds", type=int, default=6)
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--e2e", default=None, help="end-to-end checkpoint (default: the committed artefact)")
    parser.add_argument("--learned", default=None, help="skill-policy checkpoint (default: the committed artefact)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cache", type=Path, default=Path("data/bench/approaches.jsonl"))
    parser.add_argument("--plot", type=Path, default=None, help="draw the tables' success rates as a PNG here")
    args = parser.parse_args()
    cache = Cache(args.cache)
    specs = {"modular": (PolicySpec("scripted"), "yolo"), "end-to-end": (PolicySpec.e2e(args.e2e), "oracle"),
             "hybrid": (PolicySpec.learned(args.learned), "yolo")}
    machine = f"{platform.machine()}, {os.cpu_count()} cores (shared)"
    print(f"machine: {machine}, {args.workers} workers; one attempt "
          f"per episode; held-out kitchens {FIRST_SEED}..; held-out phrasings")
    all_cases = cases()
    plans = planner_check({name: sentence for name, _, _, sentence in all_cases},
                          {name: subgoals for name, subgoals, _, _ in all_cases}, FIRST_SEED)
    results: dict[str, dict[str, dict[str, list[RolloutResult]]]] = {s: {} for s in STACKS}
    for condition in args.conditions.split(","):
        disturbed = condition != "none"
        chosen = cases(disturbed)
        n = args.disturbance_seeds if disturbed else args.seeds
        seeds = range(FIRST_SEED, FIRST_SEED + n)
        for stack in STACKS:
            spec, perception = specs[stack]
            res = run({stack: spec}, stack_cases(stack, chosen, plans), seeds, Disturbance(condition), cache,
                      args.workers, f"{stack} / {condition}", perception)
            got = res.get(stack, {})
            for name, *_ in chosen:  # a misplanned case is a failed one for every seed
                got.setdefault(name, [RolloutResult(name, s, False, 0.0, 0.0, "planner") for s in seeds])
            results[stack][condition] = got
    panels = report(results, specs, args.conditions.split(","))
    if args.plot is not None:
        print(f"\nplot: {save_bars(args.plot, 'benchmarks/approaches.py', machine, panels)}")


def report(results, specs, conditions: list[str]) -> list[Bars]:
    """Print the tables: success per approach and condition, then per skill under each condition. Returns
    the same rows as panels of bars (one per table, the approaches as series)."""
    print("\n### Success per approach [%] (cases x seeds)\n")
    print("| approach | " + " | ".join(c.replace("_", " ") for c in conditions)
          + " | policy ms / step | perception ms / step | demonstrations |")
    print("|---|" + "---|" * (len(conditions) + 3))
    overall = []
    for stack in STACKS:
        shares = [success([r for rs in results[stack][c].values() for r in rs]) for c in conditions]
        overall.append((stack, shares))
        every = [r for c in conditions for rs in results[stack][c].values() for r in rs if r.wall_time_s > 0]
        chunk = np.median([r.chunk_ms for r in every]) if every else float("nan")
        seen = np.median([r.perceive_ms for r in every]) if every else float("nan")
        print(f"| {stack} | " + " | ".join(x.format() for x in shares)
              + f" | {chunk:.2f} | {seen:.2f} | {demos(specs[stack][0])} |")
    # The overall table has the approaches as rows; drawn with the conditions as groups, one bar per approach.
    panels = [success_bars("success per approach and condition (cases x seeds)", list(STACKS),
                           [(c.replace("_", " "), [shares[i] for _, shares in overall])
                            for i, c in enumerate(conditions)])]
    for condition in conditions:
        print(f"\n### {condition.replace('_', ' ')}: success per skill [%]\n")
        print("| skill | " + " | ".join(STACKS) + " |\n|---|" + "---|" * len(STACKS))
        skills = dict.fromkeys(skill_of(c) for s in STACKS for c in results[s][condition])
        rows = [(skill, [success([r for c, rs in results[s][condition].items() if skill_of(c) == skill for r in rs])
                         for s in STACKS]) for skill in skills]
        for skill, shares in rows:
            print(f"| {skill} | " + " | ".join(x.format() for x in shares) + " |")
        panels.append(success_bars(f"{condition.replace('_', ' ')}: success per skill", list(STACKS), rows))
        failures({s: results[s][condition] for s in STACKS}, 3)
    return panels


def demos(spec: PolicySpec) -> str:
    """Demonstrations behind a stack's skills (the detector's rendered training scenes are shared)."""
    if spec.kind == "scripted":
        return "0 (hand-written experts)"
    if spec.kind == "e2e":
        from hvla.skills.e2e.checkpoint import load_e2e

        meta = load_e2e(Path(spec.setting("checkpoint")) if spec.setting("checkpoint") else None).meta
    else:
        from hvla.skills.policy.checkpoint import load_policy

        meta = load_policy(Path(spec.setting("checkpoint")) if spec.setting("checkpoint") else None).meta
    return f"{meta.get('episodes', '?')} episodes"


if __name__ == "__main__":
    main()
