"""`hvla debug`: one instruction run with the learned skills shadowed by the scripted expert.

Prints where the policy parted from the expert (interventions: time, the expert's phase, how far
apart, what the policy attended to) and writes the per-step trace (`trace.json`) and, for the
end-to-end network, saliency images at each intervention. See `hvla.skills.debugging`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hvla.core.errors import ConfigError
from hvla.core.files import atomic_write_bytes
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.perception.base import PERCEPTION
from hvla.skills.debugging import GAP_M, ShadowedPolicy


def debug_episode(instruction: str, seed: int, stack: StackConfig, out: Path, gap_m: float = GAP_M
                  ) -> dict[str, Any]:
    """Plan and run `instruction` with the stack's skill policy shadowed; returns the report (also in out/)."""
    if stack.skills == "scripted":
        raise ConfigError("debug shadows a learned policy with the scripted expert: use --skills learned or e2e")
    world = build_world(seed, stack)
    executor = build_executor(world, stack)
    # The expert answers from simulator truth whatever the policy sees: its labels must be right.
    view = None if stack.perception == "oracle" else PERCEPTION.get("oracle")().perceive
    shadowed = ShadowedPolicy(executor.policy, seed, view, out / "saliency", gap_m)
    executor = replace(executor, policy=shadowed)  # rebuilt, so it renders the cameras the policy reads
    try:
        result = executor.run_instruction(instruction)
    finally:
        world.close()
    trace = shadowed.to_json()
    steps = trace["steps"]
    report = {
        "instruction": instruction, "seed": seed, "skills": stack.skills, "perception": stack.perception,
        "success": result.success, "failure": result.failure,
        "subgoals": [{"id": r.id, "skill": r.skill, "outcome": r.outcome, "reason": r.reason} for r in result.subgoals],
        "steps": len(steps), "parted_steps": sum(1 for s in shadowed.trace if s.parted),
        "interventions": trace["interventions"], "trace": str(out / "trace.json"),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "trace.json", json.dumps({**report, **trace}, default=float).encode())
    return report


def print_debug(report: dict[str, Any], console: Console) -> None:
    verdict = "[green]succeeded[/green]" if report["success"] else f"[red]failed[/red]: {report['failure']}"
    console.print(f"'{report['instruction']}' (seed {report['seed']}, {report['skills']} skills on "
                  f"{report['perception']} perception): {verdict}")
    console.print(f"{report['parted_steps']} of {report['steps']} steps parted from the expert; "
                  f"{len(report['interventions'])} intervention(s)")
    if report["interventions"]:
        table = Table("subgoal", "from [s]", "steps", "expert phase", "max gap [cm]", "gripper", "policy focus")
        for iv in report["interventions"]:
            focus = ", ".join(f"{k} {v:g}" for k, v in iv["focus"].items())
            table.add_row(iv["subgoal"], f"{iv['start_s']:.1f}", str(iv["steps"]), iv["phase"],
                          f"{100 * iv['max_gap_m']:.1f}", "other way" if iv["gripper"] else "", focus)
        console.print(table)
    console.print(f"per-step trace: {report['trace']}")
