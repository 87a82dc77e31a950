"""The `hvla` command line: run and plan instructions in the kitchen, the demo, and the tools.

Exit codes: 0 success, 1 the task was attempted and failed, 2 bad input (nothing moved).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from hvla.core.errors import HvlaError
from hvla.orchestration import session
from hvla.orchestration.builder import StackConfig
from hvla.orchestration.cli import data, perception, planner, train
from hvla.orchestration.estop_latch import EStopLatch
from hvla.orchestration.executor import ExecutorConfig

app = typer.Typer(add_completion=False, no_args_is_help=True, help="hvla: hierarchical hybrid VLA stack.")
# The tool groups: `hvla data ...`, `hvla train ...`, `hvla perception ...`, `hvla planner ...`.
train.app.command("detector")(perception.all_cmd)
train.app.command("planner-head")(planner.train_head)
app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.add_typer(perception.app, name="perception")
app.add_typer(planner.app, name="planner")
console = Console(stderr=True)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option(
        "-v", "--verbose", help="Show the libraries' logs on the terminal too (they always go to $HVLA_LOG, "
        "else runs/hvla.log).",
    )] = False,
) -> None:
    """hvla: hierarchical hybrid VLA stack."""
    from hvla.core import logs

    logs.configure(verbose=verbose)

Seed = Annotated[int, typer.Option(help="Scene seed: the same seed gives the same kitchen.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
PerceptionOpt = Annotated[str, typer.Option(help="Perception implementation (registry name).")]
PlannerOpt = Annotated[str, typer.Option(help="Planner implementation (registry name).")]
SkillsOpt = Annotated[str, typer.Option(help="Skill policy implementation (registry name).")]


def _bad_input(exc: HvlaError, as_json: bool) -> typer.Exit:
    if as_json:
        print(json.dumps({"success": False, "error": str(exc), "error_type": type(exc).__name__}))
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


@app.command()
def run(
    instruction: Annotated[str, typer.Argument(help='e.g. "put the banana in the bowl, then wipe the counter"')],
    seed: Seed = 0,
    as_json: Json = False,
    perception: PerceptionOpt = StackConfig.perception,
    planner: PlannerOpt = StackConfig.planner,
    skills: SkillsOpt = StackConfig.skills,
    video: Annotated[Path | None, typer.Option(help="Write an mp4 of the scene camera here.")] = None,
    log_dir: Annotated[Path, typer.Option(help="Root folder of episode logs.")] = Path("runs"),
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not record the episode.")] = False,
    inference: Annotated[str, typer.Option(
        help="sync: perceive and act, then move; async: compute the next chunk while the arm runs this one.")] = "sync",
    realtime: Annotated[bool, typer.Option(
        "--realtime", help="Pace the simulation to the wall clock and count missed 10 Hz deadlines.")] = False,
) -> None:
    """Plan INSTRUCTION for the kitchen of SEED and execute it headless."""
    try:
        executor = ExecutorConfig(inference=inference, realtime=realtime)
    except HvlaError as exc:
        raise _bad_input(exc, as_json) from None
    stack = StackConfig(perception=perception, planner=planner, skills=skills, image_size=128, executor=executor)
    try:
        report = session.run_episode(
            instruction, seed, stack, video=video, log_root=None if no_log else log_dir, console=console,
            progress=not as_json, latch=EStopLatch(),
        )
    except HvlaError as exc:
        raise _bad_input(exc, as_json) from None
    if as_json:
        print(json.dumps(report, default=_json_default))
    else:
        session.print_report(report, console)
    raise typer.Exit(code=0 if report["success"] else 1)


@app.command()
def debug(
    instruction: Annotated[str, typer.Argument(help='e.g. "put the banana in the bowl"')],
    seed: Seed = 0,
    as_json: Json = False,
    perception: PerceptionOpt = StackConfig.perception,
    planner: PlannerOpt = StackConfig.planner,
    skills: Annotated[str, typer.Option(help="The learned policy to debug: learned | e2e.")] = "learned",
    out: Annotated[Path, typer.Option(help="Folder for trace.json and saliency images.")] = Path("runs/debug"),
    gap_cm: Annotated[float, typer.Option(help="Next waypoints this far from the expert's count as parted.")] = 2.0,
) -> None:
    """Run INSTRUCTION with the learned skills shadowed by the scripted expert: where they part, and why."""
    from hvla.orchestration.debugging import debug_episode, print_debug

    stack = StackConfig(perception=perception, planner=planner, skills=skills, image_size=128)
    try:
        stack.validate()
        report = debug_episode(instruction, seed, stack, out, gap_cm / 100)
    except HvlaError as exc:
        raise _bad_input(exc, as_json) from None
    if as_json:
        print(json.dumps(report, default=_json_default))
    else:
        print_debug(report, console)
    raise typer.Exit(code=0 if report["success"] else 1)


@app.command()
def plan(
    instruction: Annotated[str, typer.Argument(help="The instruction to plan.")],
    seed: Seed = 0,
    as_json: Json = False,
    perception: PerceptionOpt = StackConfig.perception,
    planner: PlannerOpt = StackConfig.planner,
    graph: Annotated[Path | None, typer.Option(help="Also draw the plan graph here (PNG).")] = None,
    kitchen: Annotated[Path | None, typer.Option(help="Also save the kitchen as its cameras see it here (PNG).")]
    = None,
) -> None:
    """Print the plan graph for the kitchen of SEED without moving anything."""
    from hvla.orchestration import pictures

    stack = StackConfig(perception=perception, planner=planner)
    try:
        report = session.plan_only(instruction, seed, stack)
    except HvlaError as exc:
        raise _bad_input(exc, as_json) from None
    if as_json:
        print(json.dumps(report, default=_json_default))
    else:
        session.print_plan(report, console)
    if graph is not None:
        console.print(f"plan graph: {pictures.draw_plan(report, graph)}")
    if kitchen is not None:
        console.print(f"kitchen: {pictures.kitchen_picture(seed, kitchen, stack)}")


@app.command()
def estop(
    reset: Annotated[bool, typer.Option("--reset", help="Release the latched e-stop (the operator's reset).")] = False,
    reason: Annotated[str, typer.Option(help="Why the stop was pressed (kept with the latch).")] = "operator e-stop",
) -> None:
    """Engage the cell's e-stop (a running `hvla run` brakes to rest at its next tick; new runs are refused),
    or release it with --reset. Ctrl-C on `hvla run` engages it too. The latch file is runs/ESTOP
    ($HVLA_ESTOP_LATCH to move it)."""
    latch = EStopLatch()
    if reset:
        was = latch.reason()
        latch.reset()
        console.print(f"e-stop released (was: {was})" if was else "e-stop was not engaged")
        return
    latch.engage(reason, by="hvla estop")
    console.print(f"[red]e-stop engaged[/red]: {latch.reason()}; release it with `hvla estop --reset`")


@app.command()
def demo(
    seed: Seed = 3,
    out: Annotated[Path, typer.Option(help="Folder for the demo's videos and logs.")] = Path("runs/demo"),
) -> None:
    """The kitchen example: a two-step instruction, then a second instruction, with videos."""
    code = session.demo(seed, out, console)
    raise typer.Exit(code=code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Allow a non-loopback --host: anyone who reaches it with the token may move the robot.",
    )] = False,
) -> None:
    """Start the operator web console: plan, run, watch both cameras and the events, approve steps, e-stop.

    Prints the address with the operator token once ($HVLA_CONSOLE_TOKEN, else a new random one): every
    action that moves the robot needs it; the e-stop does not."""
    import ipaddress
    import os

    import uvicorn

    from hvla.orchestration.console import create_app
    from hvla.orchestration.console_guard import TOKEN_ENV

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        console.print(f"[red]error:[/red] --host {host} is not a loopback address: the console would accept "
                      "connections from other machines. Pass --allow-remote as well if that is what you want.")
        raise typer.Exit(code=2)
    if not loopback:
        console.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach port {port} and holds "
                      "the token can move the robot, and anyone can press the e-stop. Traffic is not encrypted.")
    app_ = create_app()
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    from_env = bool(os.environ.get(TOKEN_ENV, "").strip())
    url = f"http://{shown}:{port}/" + ("" if from_env else f"?token={app_.state.token}")
    console.print(f"operator console: {url}" + (f"  (token from ${TOKEN_ENV})" if from_env else ""), soft_wrap=True)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
def episodes(
    log_dir: Annotated[Path, typer.Argument(help="Root folder of episode logs.")] = Path("runs"),
) -> None:
    """List recorded episodes: state (complete / incomplete / running / interrupted), outcome, steps, instruction.

    "interrupted": the run was killed (its process is gone) before it could finish; what it logged is kept."""
    from rich.table import Table

    from hvla.orchestration.episode_log import INTERRUPTED, list_episodes

    table = Table(title=f"episodes in {log_dir}")
    for col in ("episode", "state", "success", "steps", "seed", "instruction"):
        table.add_column(col)
    summaries = list_episodes(log_dir)
    for ep in summaries:
        table.add_row(ep.episode_id, ep.state, str(ep.success), str(ep.n_steps), str(ep.meta.get("seed", "")),
                      str(ep.meta.get("instruction", "")))
    out = Console(width=max(Console().width, 120))
    out.print(table)
    for ep in (s for s in summaries if s.state == INTERRUPTED):
        out.print(f"{ep.episode_id}: interrupted, {ep.error}; its {ep.n_steps} steps stay readable "
                  f"(`hvla replay {ep.path}`)", soft_wrap=True)


@app.command()
def replay(
    episode_dir: Annotated[Path, typer.Argument(help="An episode folder under runs/.")],
    video: Annotated[Path | None, typer.Option(help="Also write the logged scene camera as mp4.")] = None,
) -> None:
    """Re-execute a logged episode's joint commands open loop and report how far it ends from the log."""
    from hvla.orchestration.episode_log import load_episode
    from hvla.orchestration.replay import iter_frames
    from hvla.orchestration.replay import replay as replay_episode
    from hvla.orchestration.video import write_mp4

    try:
        episode = load_episode(episode_dir)
        result = replay_episode(episode)
    except HvlaError as exc:
        raise _bad_input(exc, False) from None
    state = "incomplete" if episode.incomplete else "complete"
    Console().print(
        f"{episode.episode_id} ({state}, {len(episode.steps)} steps): replayed {result.n_commands} commands; "
        f"end effector {result.position_error_m * 1e3:.2f} mm / {result.rotation_error_rad:.4f} rad from the "
        f"log ({result.reference})"
    )
    if episode.meta.get("fresh_world") is False:
        Console().print("[yellow]note:[/yellow] it continued an earlier episode; replay starts from a fresh kitchen")
    if video is not None:
        Console().print(f"video: {write_mp4(video, list(iter_frames(episode, 'scene')))}")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    app()
