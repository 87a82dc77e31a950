"""One episode end to end, as the CLI and the benchmarks run it: world, plan, execute, log, report.

The report is a plain dict so it prints as one JSON object (`hvla run --json`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hvla.core.messages import Plan, Scene
from hvla.core.world import World
from hvla.orchestration import events as ev
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.episode_log import EpisodeWriter
from hvla.orchestration.estop_latch import EStopLatch
from hvla.orchestration.executor import EpisodeResult, Executor
from hvla.orchestration.video import FanOut, VideoRecorder
from hvla.sim.scene import SceneConfig

VIDEO_SIZE = 224  # px; rendering cost hardly depends on size here
DEMO_INSTRUCTIONS = ("put the banana in the bowl, then wipe the counter", "put the apple on the plate")


def scene_summary(scene: Scene) -> list[dict[str, Any]]:
    """The objects a plan was grounded against: what an operator needs to check the grounding."""
    return [
        {
            "name": t.name, "label": t.label, "category": t.category, "color": t.color_name,
            "position": np.round(t.position_m, 3).tolist(),
        }
        for t in scene.tokens
    ]


def plan_report(plan: Plan, scene: Scene) -> dict[str, Any]:
    return {**plan.to_json(), "scene": scene_summary(scene)}


def plan_only(instruction: str, seed: int, stack: StackConfig, scene_config: SceneConfig | None = None) -> dict:
    """Ground and plan `instruction` in the kitchen of `seed`; nothing moves."""
    world = build_world(seed, stack, scene_config)
    executor = build_executor(world, stack)
    _, scene = executor.observe()
    assert executor.planner is not None
    plan = executor.planner.plan(instruction, scene)
    return {"instruction": instruction, "seed": seed, **plan_report(plan, scene)}


def run_episode(
    instruction: str,
    seed: int,
    stack: StackConfig,
    *,
    video: Path | None = None,
    log_root: Path | None = None,
    console: Console | None = None,
    progress: bool = False,
    scene_config: SceneConfig | None = None,
    world: World | None = None,
    latch: EStopLatch | None = None,
) -> dict[str, Any]:
    """Plan and execute `instruction` (in `world`, or a new kitchen of `seed`); returns the JSON report.

    With a `latch` (the cell's e-stop), a latched stop refuses the run before anything is built, Ctrl-C or
    `hvla estop` during it brakes the arm to rest and ends the episode as stopped, and a stop engaged by
    the safety layer itself latches the cell too.

    Raises:
        HvlaError: bad input (unknown object, empty instruction, unknown implementation, a latched
            e-stop); nothing moved.
    """
    wall0 = time.time()
    if latch is not None:
        latch.require_released()
    if video is not None:
        stack = replace(_with_log_cameras(stack, ("scene",)), image_size=max(stack.image_size, VIDEO_SIZE))
    fresh_world = world is None
    world = world or build_world(seed, stack, scene_config)
    recorder = VideoRecorder(video) if video is not None else None
    fan_out = FanOut(recorder)
    executor = build_executor(world, stack, fan_out)
    _, scene = executor.observe()
    assert executor.planner is not None
    plan = executor.planner.plan(instruction, scene)  # bad input raises here, before anything moves
    writer = _open_log(log_root, seed, instruction, stack, plan, executor, fresh_world)
    if writer is not None:
        fan_out.recorders.append(writer)
    try:
        with _estop_wiring(executor, latch):
            result = _execute(executor, plan, console if progress else None)
        if writer is not None and result.plan is not plan:
            writer.write_plan(result.plan)
    except BaseException as exc:
        if writer is not None:
            writer.abort(exc)
        raise
    video_path = recorder.write() if recorder is not None else None
    report = episode_report(instruction, seed, plan, scene, result, wall0)
    report["video"] = str(video_path) if video_path else None
    if writer is not None:
        final = world.observe(())
        executor.events.emit(ev.EPISODE_FINISHED, final.t_s, detail={"success": result.success})
        report["log_dir"] = str(writer.path)
        writer.finish(report["success"], report["failure"], report["subgoals"], final_observation=final, extra=report)
    return report


@contextlib.contextmanager
def _estop_wiring(executor: Executor, latch: EStopLatch | None) -> Iterator[None]:
    """Connect the cell's latch to this episode's controller for the time it runs (see `run_episode`)."""
    if latch is None:
        yield
        return

    def poll(event: ev.Event) -> None:  # once per tick: the latch is one small file
        if event.kind == ev.CHUNK_ISSUED and not executor.controller.estopped:
            reason = latch.reason()
            if reason is not None:
                executor.controller.estop(f"cell e-stop: {reason}")

    def interrupt(signum: int, frame: Any) -> None:
        if executor.controller.estopped:  # a second Ctrl-C: the operator insists
            raise KeyboardInterrupt
        latch.engage("Ctrl-C on hvla run", by="cli")
        executor.controller.estop("operator interrupt (Ctrl-C)")

    unsubscribe = executor.events.subscribe(poll)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupt) if main else None
    try:
        yield
    finally:
        unsubscribe()
        if main:
            signal.signal(signal.SIGINT, previous)
        if executor.controller.estopped:
            latch.engage(executor.controller.estop_reason, by="safety layer")


def episode_report(
    instruction: str, seed: int, plan: Plan, scene: Scene, result: EpisodeResult, wall0: float
) -> dict[str, Any]:
    planned = plan.to_json()
    return {
        "instruction": instruction,
        "seed": seed,
        "success": result.success,
        "outcome": result.outcome,  # succeeded | failed | stopped (e-stop or the operator)
        "plan": planned["subgoals"],
        "edges": planned["edges"],
        "scores": planned["scores"],
        "subgoals": [r.to_json() for r in result.subgoals],
        "failure": result.failure,
        "replans": result.replans,
        "warnings": result.warnings,
        "sim_time_s": round(result.sim_time_s, 3),
        "wall_time_s": round(time.time() - wall0, 3),
        "deadlines": result.deadlines,  # real-time mode only: ticks, missed deadlines, worst lateness
        "log_dir": None,
        "scene": scene_summary(scene),
    }


def _execute(executor: Executor, plan: Plan, console: Console | None) -> EpisodeResult:
    if console is None:
        return executor.run_plan(plan)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("planning", total=None)

        def show(event: ev.Event) -> None:
            if event.kind in (ev.SUBGOAL_STARTED, ev.RETRY, ev.REPLAN, ev.MONITOR_ALERT, ev.MONITOR_WARNING):
                sg = plan.graph.nodes.get(event.subgoal_id, {}).get("subgoal")
                what = sg.describe() if sg is not None else event.subgoal_id
                bar.update(task, description=f"{event.kind.lower().replace('_', ' ')}: {what} (t={event.t_s:.1f}s)")

        executor.events.subscribe(show)
        return executor.run_plan(plan)


def _with_log_cameras(stack: StackConfig, cameras: tuple[str, ...]) -> StackConfig:
    merged = tuple(dict.fromkeys((*stack.executor.log_cameras, *cameras)))
    return replace(stack, executor=replace(stack.executor, log_cameras=merged))


def _open_log(
    log_root: Path | None, seed: int, instruction: str, stack: StackConfig, plan: Plan, executor: Executor,
    fresh_world: bool = True,
) -> EpisodeWriter | None:
    """An episode log that records every event and step of `executor` (None: no logging)."""
    if log_root is None:
        return None
    meta = {
        "seed": seed, "instruction": instruction, "perception": stack.perception, "planner": stack.planner,
        "skills": stack.skills, "controller": stack.controller, "image_size": stack.image_size,
        "fresh_world": fresh_world,  # False: the episode continued an earlier one; replay needs that state
    }
    writer = EpisodeWriter(log_root, meta=meta)
    executor.events.subscribe(writer.write_event)
    writer.write_plan(plan)
    return writer


def print_plan(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"plan for: {report['instruction']!r} (seed {report['seed']})")
    for col in ("id", "skill", "args", "after"):
        table.add_column(col)
    after: dict[str, list[str]] = {}
    for a, b in report["edges"]:
        after.setdefault(b, []).append(a)
    for sg in report["subgoals"]:
        args = ", ".join(f"{k}={v}" for k, v in sg["args"].items())
        table.add_row(sg["id"], sg["skill"], args, ", ".join(after.get(sg["id"], [])) or "-")
    Console(width=max(Console().width, 120)).print(table)
    for note in report.get("notes", []):
        Console().print(f"note: {note}")
    objects = ", ".join(f"{o['name']} ({o['color']})" for o in report["scene"])
    Console().print(f"scene: {objects}")


def print_report(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{report['instruction']!r} (seed {report['seed']})")
    for col in ("subgoal", "skill", "args", "outcome", "attempts", "sim time [s]", "reason"):
        table.add_column(col)
    for r in report["subgoals"]:
        args = ", ".join(f"{k}={v}" for k, v in r["args"].items())
        colour = {"succeeded": "green", "failed": "red"}.get(r["outcome"], "yellow")
        table.add_row(
            r["id"], r["skill"], args, f"[{colour}]{r['outcome']}[/{colour}]", str(r["attempts"]),
            f"{r['duration_s']:.1f}", r["reason"] or "",
        )
    out = Console(width=max(Console().width, 120))
    out.print(table)
    for warning in report.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    verdict = "[green]SUCCESS[/green]" if report["success"] else f"[red]FAILED[/red]: {report['failure']}"
    out.print(
        f"{verdict}  sim {report['sim_time_s']:.1f} s, wall {report['wall_time_s']:.1f} s"
        + (f", log {report['log_dir']}" if report.get("log_dir") else "")
        + (f", video {report['video']}" if report.get("video") else "")
    )
    if report.get("deadlines"):
        d = report["deadlines"]
        colour = "green" if d["missed"] == 0 else "red"
        out.print(f"real time: [{colour}]{d['missed']} missed deadlines[/{colour}] in {d['ticks']} ticks "
                  f"({d['late_chunks']} chunks late; worst tick {d['worst_late_ms']} ms late)")


def demo(seed: int, out: Path, console: Console) -> int:
    """The chapter's kitchen example: a two-step instruction, then a second one in the same kitchen."""
    from hvla.core.errors import HvlaError

    code = 0
    stack = StackConfig(image_size=VIDEO_SIZE)
    world = build_world(seed, stack)
    for i, instruction in enumerate(DEMO_INSTRUCTIONS):
        Console().rule(f"instruction {i + 1}: {instruction!r}")
        try:
            report = run_episode(
                instruction, seed, stack, video=out / f"demo_{i + 1}.mp4", log_root=out / "logs",
                console=console, progress=True, world=world,
            )
        except HvlaError as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
        print_report(report, console)
        code = max(code, 0 if report["success"] else 1)
    return code
