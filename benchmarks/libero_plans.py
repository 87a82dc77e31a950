"""LIBERO's instructions through hvla's planner: is each one grounded to the plan its BDDL goal asks for?

    .venv/bin/python benchmarks/libero_plans.py                       # the 40 tasks of the four suites
    .venv/bin/python benchmarks/libero_plans.py --suite libero_goal --planner rules

For every task: the world at official init state 0, the planner given only the instruction and the scene's
oracle tokens, and a check of the plan against LIBERO's goal. Each goal predicate that does not hold at the
start must be brought about by one step: In/On(x, y) by a pick_place, place or push of x onto the token that
stands for y (the basket for its contain region, the stove for its cook region), Open/Close(r) by open/close
of r, Turnon/Turnoff(x) by turn_on/turn_off of x. Nothing is executed; the table says which instructions the
planner reads right, and what it made of the others.
"""

from __future__ import annotations

import argparse
import sys

from libero import SUITES

import hvla  # noqa: F401  (offline, headless defaults)
from hvla.core.errors import HvlaError
from hvla.orchestration import StackConfig, build_world
from hvla.orchestration.builder import build_planner
from hvla.perception.oracle import OraclePerception
from hvla.sim.libero import LiberoConfig

PLACES = {"in", "on"}
PART_SKILL = {"open": "open", "close": "close", "turnon": "turn_on", "turnoff": "turn_off"}


def steps_for(goal: tuple[str, ...], steps: list[tuple[str, dict]], world) -> bool:
    """Whether one of `steps` brings about BDDL predicate `goal`."""
    kind, *args = goal
    if kind in PLACES:
        obj, where = args
        return any(skill in ("pick_place", "place", "push") and a.get("object") == obj
                   and where in world.bddl_names(a.get("target", "")) for skill, a in steps)
    if kind in PART_SKILL:
        return any(skill == PART_SKILL[kind] and a.get("object") == args[0] for skill, a in steps)
    return False


def check(stack: StackConfig, suite: str, task: int) -> dict:
    stack = StackConfig(world="libero", perception="oracle", planner=stack.planner,
                        configs={"world": LiberoConfig(suite, task, 0)})
    world = build_world(0, stack)
    scene = OraclePerception().perceive(world.observe(cameras=()))
    goals = world.goal_open()
    try:
        plan = build_planner(stack, world).plan(world.instruction, scene)
        steps = [(sg.skill, dict(sg.args)) for sg in plan.subgoals()]
        text = " -> ".join(f"{s}({', '.join(a.values())})" for s, a in steps)
    except HvlaError as exc:
        steps, text = [], f"{type(exc).__name__}: {str(exc)[:120]}"
    missing = [" ".join(g) for g in goals if not steps_for(g, steps, world)]
    return {"suite": suite, "task": task, "instruction": world.instruction, "ok": bool(steps) and not missing,
            "plan": text, "missing": missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="all", help=f"one of {SUITES} or 'all'")
    parser.add_argument("--planner", default="offline")
    args = parser.parse_args(argv)
    if args.suite != "all" and args.suite not in SUITES:
        print(f"error: unknown suite {args.suite!r}; known: {list(SUITES)} or 'all'", file=sys.stderr)
        return 2
    stack = StackConfig(world="libero", perception="oracle", planner=args.planner)
    rows = [check(stack, suite, task) for suite in (SUITES if args.suite == "all" else [args.suite])
            for task in range(10)]
    print("| suite | task | instruction | grounded right | plan | goal not covered |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['suite']} | {r['task']} | {r['instruction']} | {'yes' if r['ok'] else 'NO'} | {r['plan']} | "
              f"{'; '.join(r['missing'])} |")
    ok = sum(r["ok"] for r in rows)
    print(f"\n{ok}/{len(rows)} instructions grounded to a plan that covers their BDDL goal ({args.planner} planner)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
