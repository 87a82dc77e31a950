"""`hvla data ...`: demonstration datasets (LeRobotDataset v3): record, roll-outs, teleop, report, repair.

Exit codes as `hvla`: 0 done, 2 bad input (`HvlaError`, message only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hvla.core.errors import HvlaError
from hvla.orchestration.cli.common import Workers, console, fail

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Demonstration datasets (LeRobotDataset v3): record, teleop, rollouts, report, repair.")

_PLAN_OPTIONS = ("skill", "episodes", "first_seed", "noise", "cameras", "lead_in", "perceived")


@app.command("record")
def record(
    ctx: typer.Context,
    skill: Annotated[str, typer.Option(help="pick | pick_place | place | wipe (required unless --resume).")] = "",
    episodes: Annotated[int, typer.Option(help="Episodes (one kitchen seed each).")] = 200,
    out: Annotated[Path, typer.Option(help="Dataset folder; recording into an existing one resumes it.")] = Path(
        "data/demos"),
    first_seed: Annotated[int, typer.Option(help="Seeds first_seed.. (keep 10000+ for benchmarks).")] = 0,
    noise: Annotated[bool, typer.Option(help="Inject perturbations into the executed chunks.")] = True,
    cameras: Annotated[str, typer.Option(help="Comma-separated cameras to record as mp4 (scene,wrist).")] = "",
    lead_in: Annotated[float, typer.Option(help="Share of episodes that start where another skill left the arm "
                                                "(it runs first, unrecorded).")] = 0.4,
    perceived: Annotated[bool, typer.Option(help="Also record each episode on the learned detector's tokens "
                                                 "(`<uid>-perceived`; about 3x slower).")] = False,
    resume: Annotated[bool, typer.Option(help="Finish the interrupted recording in OUT with the settings it was "
                                              "started with (it continues after the episodes already kept).")
                      ] = False,
    workers: Workers = 0,
) -> None:
    """Record scripted-expert demonstrations of SKILL into a LeRobot v3 dataset (resumable)."""
    from hvla.core.errors import ConfigError
    from hvla.orchestration.rollouts import job_recorded, record_dataset
    from hvla.skills.data.lerobot import recorded_uids
    from hvla.skills.data.record import RecordPlan

    try:
        if resume:
            plan = RecordPlan.load(out)
            given = [f"--{n.replace('_', '-')}" for n in _PLAN_OPTIONS
                     if getattr(ctx.get_parameter_source(n), "name", "") == "COMMANDLINE"]  # typer vendors click
            if given:
                raise ConfigError(f"--resume carries on {out}'s recording as it was started ({plan.describe()}); "
                                  f"drop {' '.join(given)}")
            jobs = plan.jobs()
            done = recorded_uids(out)
            left = [j for j in jobs if not job_recorded(j, done)]
            rest = f"{len(left)} to go, from seed {left[0].seed}" if left else "nothing left to record"
            console.print(f"resuming {out}: {plan.describe()}; {len(jobs) - len(left)} recorded, {rest}")
        else:
            if not skill:
                raise ConfigError("--skill is required (pick | pick_place | place | wipe); or --resume to finish "
                                  "an interrupted recording")
            plan = RecordPlan(skill, episodes, first_seed, noise, tuple(c for c in cameras.split(",") if c),
                              lead_in, perceived)
            jobs = plan.jobs()
        results, info = record_dataset(out, jobs, workers or None, cameras=plan.cameras, plan=plan)
    except HvlaError as exc:
        raise fail(exc) from None
    ok = sum(r.success for r in results)
    console.print(f"recorded {len(results)} new episodes ({ok} succeeded); {out} now holds "
                  f"{info['total_episodes']} episodes, {info['total_frames']} frames")


@app.command("record-libero")
def record_libero_cmd(
    suites: Annotated[str, typer.Option(help="Comma-separated LIBERO suites.")] = (
        "libero_spatial,libero_object,libero_goal,libero_10"),
    tasks: Annotated[str, typer.Option(help="Comma-separated task indices of every suite (default: all).")] = "",
    episodes_per_task: Annotated[int, typer.Option(help="Scenes per task (LIBERO's own budget is 50).")] = 10,
    out: Annotated[Path, typer.Option(help="Dataset folder; recording into an existing one resumes it.")] = Path(
        "data/libero_demos"),
    first_seed: Annotated[int, typer.Option(help="Sampled scenes first_seed.. (LIBERO's scene sampler; keep 10000+ "
                                                 "for held-out scenes).")] = 0,
    noise: Annotated[bool, typer.Option(help="Inject perturbations into the executed chunks.")] = True,
    cameras: Annotated[str, typer.Option(help="Comma-separated cameras to record as mp4 (scene = agentview, wrist); "
                                              "'' for tokens only (2-3x faster).")] = "scene,wrist",
    expert_speed: Annotated[float, typer.Option(help="The experts' speed (as the benchmark's).")] = 1.6,
    policy: Annotated[Path | None, typer.Option(help="DAgger: roll out this LIBERO checkpoint (its parts scripted) "
                                                     "and label every frame with the expert; keep --first-seed "
                                                     "apart from the demonstrations' (e.g. 20000).")] = None,
    beta: Annotated[float, typer.Option(help="DAgger: per-step probability the expert's chunk runs instead.")] = 0.0,
    resume: Annotated[bool, typer.Option(help="Finish the interrupted recording in OUT as it was started.")] = False,
    workers: Workers = 0,
) -> None:
    """Record hvla's experts on LIBERO's tasks in scenes LIBERO's sampler draws (never an official init state);
    with --policy, DAgger roll-outs of a learned policy, labelled by the experts."""
    from hvla.core.errors import ConfigError
    from hvla.orchestration.libero_demos import LiberoRecordPlan, record_libero, summarise

    try:
        if resume:
            plan = LiberoRecordPlan.load(out)
            console.print(f"resuming {out}: {plan.describe()}")
        else:
            try:
                task_list = tuple(int(t) for t in tasks.split(",") if t.strip())
            except ValueError as exc:
                raise ConfigError(f"--tasks takes comma-separated integers: {exc}") from None
            plan = LiberoRecordPlan(tuple(s for s in suites.split(",") if s), task_list, episodes_per_task,
                                    first_seed, noise, tuple(c for c in cameras.split(",") if c), expert_speed,
                                    str(policy) if policy else None, beta)
        results, info = record_libero(out, plan, workers or None)
    except HvlaError as exc:
        raise fail(exc) from None
    console.print(f"{summarise(results)}; {out} now holds {info['total_episodes']} episodes, "
                  f"{info['total_frames']} frames")


@app.command("rollouts")
def rollouts(
    episodes: Annotated[int, typer.Option(help="Roll-outs, spread over the skills in turn.")] = 60,
    skills: Annotated[str, typer.Option(help="Comma-separated skills.")] = "pick,pick_place,place,wipe",
    policy: Annotated[Path | None, typer.Option(help="Policy checkpoint (default: the committed one).")] = None,
    first_seed: Annotated[int, typer.Option(help="Kitchens first_seed.. (keep 10000..49999 for benchmarks).")
                          ] = 60_000,
    out: Annotated[Path, typer.Option(help="Dataset folder (LeRobot v3).")] = Path("data/rollouts"),
    lead_in: Annotated[float, typer.Option(help="Share of roll-outs that start where another (scripted) skill "
                                                "left the arm, as in a plan.")] = 0.4,
    workers: Workers = 0,
) -> None:
    """Autonomous collection: the learned policy's own roll-outs in normal kitchens, labelled by the expert.

    Kept whether they succeed or not (flagged). The normal-operation data of `hvla train anomaly`, and
    DAgger data for any later round."""
    from hvla.core.artifacts import resolve_artifact
    from hvla.orchestration.rollouts import dagger_collect
    from hvla.skills.policy.checkpoint import ARTIFACT, MAKE_COMMAND
    from hvla.skills.policy.dagger import DaggerConfig

    try:
        checkpoint = policy or resolve_artifact(ARTIFACT, MAKE_COMMAND)
        cfg = DaggerConfig(rounds=1, episodes_per_round=episodes, skills=tuple(skills.split(",")),
                           first_seed=first_seed, moved_object_share=0.0, lead_in_p=lead_in)
        success = dagger_collect(0, checkpoint, out, cfg, workers or None)
    except HvlaError as exc:
        raise fail(exc) from None
    console.print("roll-out success: " + ", ".join(f"{k} {v:.0%}" for k, v in success.items() if v == v))


@app.command("teleop")
def teleop(
    skill: Annotated[str, typer.Option(help="pick | pick_place | place | wipe")],
    object: Annotated[str, typer.Option("--object", help="What to pick or place (banana, apple, ...).")] = "",
    target: Annotated[str, typer.Option(help="Where to place it (bowl, plate).")] = "",
    seed: Annotated[int, typer.Option(help="The kitchen (keep 10000+ for benchmarks).")] = 1000,
    out: Annotated[Path, typer.Option(help="Dataset folder (LeRobot v3); episodes are added to it.")] = Path(
        "data/teleop"),
    keys: Annotated[Path | None, typer.Option(help="Read the keys from this file instead of the terminal.")] = None,
    cameras: Annotated[str, typer.Option(help="Comma-separated cameras to record as mp4 (scene,wrist).")] = "",
    step_cm: Annotated[float, typer.Option(help="How far one key moves the hand.")] = 1.0,
) -> None:
    """Teleoperate SKILL with keys (w/s x, a/d y, r/f z, q/e yaw, g gripper, . hold; x ends) and record it."""
    from hvla.orchestration.teleop.episode import TeleopEpisode, teleop_args, teleop_subgoal, terminal_keys
    from hvla.orchestration.teleop.keys import KEY_HELP, TeleopConfig, parse_keys

    try:
        subgoal = teleop_subgoal(skill, teleop_args(skill, object, target))
        episode = TeleopEpisode(seed, subgoal, tuple(c for c in cameras.split(",") if c),
                                TeleopConfig(step_m=step_cm / 100))
        if keys is not None:
            source = iter(parse_keys(keys.read_text()))
        else:
            console.print(KEY_HELP)
            source = terminal_keys(episode.status)
        result = episode.run(source, out)
    except HvlaError as exc:
        raise fail(exc) from None
    verdict = "[green]succeeded[/green]" if result["success"] else f"[red]failed[/red] ({result['reason']})"
    console.print(f"{result['uid']}: {verdict}, {result['frames']} frames recorded into {out}")


@app.command("report")
def report(
    path: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Quality report: episodes, success, per-task counts, action statistics, quality scores."""
    from hvla.skills.data.lerobot import load_dataset, unfinalised_uids
    from hvla.skills.data.quality import quality_report

    try:
        rep = quality_report(load_dataset(path))
        pending = unfinalised_uids(path)
    except HvlaError as exc:
        raise fail(exc) from None
    if pending:
        console.print(f"[yellow]note:[/yellow] {len(pending)} complete episode(s) in {path}/.staging were never "
                      f"finalised (the recorder was stopped) and are not counted: `hvla data repair {path}` adds them",
                      soft_wrap=True)
    if as_json:
        print(json.dumps(rep))
        return
    table = Table(title=f"{path}: {rep['episodes']} episodes, {rep['frames']} frames, "
                        f"success {100 * rep['success_rate']:.1f} %, mean quality {rep['quality']['mean']:.2f}")
    for col in ("task", "episodes", "succeeded"):
        table.add_column(col)
    for task, c in rep["per_task"].items():
        table.add_row(task, str(c.get("episodes", 0)), str(c.get("succeeded", 0)))
    console.print(table)
    console.print(_statistics_table(rep))


# The report's action statistics (skills/data/quality.py `action_statistics`) as they read in the table.
_ACTION_ROWS = {
    "first_step_mm_median": ("first waypoint from the hand, median", "mm"),
    "first_step_mm_p95": ("first waypoint from the hand, p95", "mm"),
    "chunk_reach_mm_median": ("chunk reach, median", "mm"),
    "gripper_open_share": ("gripper open", "%"),
    "label_vs_executed_mm_mean": ("label vs executed, mean", "mm"),
}


def _counts(counts: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "-"


def _statistics_table(rep: dict) -> Table:
    """Everything of the quality report beyond the per-task counts: one row per statistic, with units."""
    rows: list[tuple[str, str]] = []
    for key, value in rep["actions"].items():
        label, unit = _ACTION_ROWS.get(key, (key, ""))
        rows.append((f"{label} [{unit}]" if unit else label, f"{100 * value:.1f}" if unit == "%" else f"{value:.1f}"))
    rows += [
        ("noise frames [%]", f"{100 * rep['noise_frame_share']:.1f}"),
        ("recovery frames [%]", f"{100 * rep['recovery_frame_share']:.1f}"),
        ("quality: episodes in [0, .25, .5, .75, .9, 1]", " / ".join(map(str, rep["quality"]["histogram"]))),
        ("distractors per scene: episodes", _counts(rep["distractors"])),
        ("token sources: episodes", _counts(rep["token_sources"])),
        ("lead-ins: episodes", _counts(rep["lead_ins"])),
        ("ungrounded episodes", str(rep["ungrounded_episodes"])),
        ("implausible episodes", str(rep["implausible_episodes"])),
    ]
    rows += [(f"failure: {reason or 'no reason logged'}", str(n)) for reason, n in rep["failures"].items()]
    table = Table(title="statistics")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for label, value in rows:  # escaped: "[mm]" would read as rich markup and vanish
        table.add_row(escape(label), escape(value))
    return table


@app.command("repair")
def repair(path: Annotated[Path, typer.Argument(help="Dataset folder.")]) -> None:
    """Finalise an interrupted recording (keep its complete episodes, drop the partial one) and drop the
    episodes of damaged files (missing, truncated, inconsistent); re-index the rest."""
    from hvla.skills.data.lerobot import repair as repair_folder

    try:
        report = repair_folder(path)
    except HvlaError as exc:
        raise fail(exc) from None
    for line in report.lines():
        console.print(line, soft_wrap=True, highlight=False, markup=False)
