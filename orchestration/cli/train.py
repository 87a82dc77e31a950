"""`hvla train ...`: the learned layers: skill policy (BC, DAgger), anomaly detector, end-to-end baseline,
detector and planner head (the last two are the perception and planner groups' own commands, mounted here too).

Exit codes as `hvla`: 0 done, 2 bad input (`HvlaError`, message only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hvla.core.errors import HvlaError
from hvla.orchestration.cli.common import DataPaths, Workers, command_line, console, fail

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Train the learned layers: skill policy (BC, DAgger), detector, planner head.")

@app.command("policy")
def train(
    data: DataPaths,
    out: Annotated[Path, typer.Option(help="Run folder: policy.pt, metrics.csv, train.json.")] = Path(
        "data/runs/bc"),
    epochs: int = 40,
    steps_per_epoch: int = 250,
    batch_size: Annotated[int, typer.Option(help="Per process and micro-batch (under torchrun: per rank).")] = 256,
    accumulation: Annotated[int, typer.Option(help="Micro-batches per optimiser step; the effective batch is "
                                                   "batch-size x processes x accumulation.")] = 1,
    max_minutes: Annotated[float, typer.Option(help="Wall-time budget.")] = 20.0,
    lr: Annotated[float, typer.Option(help="Peak learning rate (fine-tuning from --init: e.g. 5e-4).")] = 1e-3,
    curriculum_epochs: Annotated[int, typer.Option(help="Epochs to phase in cluttered scenes.")] = 8,
    episodes_per_skill: Annotated[int, typer.Option(help="Use only the first N episodes of each skill "
                                                         "(data-efficiency runs); 0 = all.")] = 0,
    min_quality: float = 0.0,
    success_only: bool = False,
    perceived_boost: Annotated[float, typer.Option(help="Weight of episodes on the detector's tokens "
                                                       "(0 drops them).")] = 2.0,
    splice_phases: Annotated[bool, typer.Option(help="Chunk labels run on across the expert's phase switches "
                                                     "(what it did next), not its one-phase plan.")] = True,
    splice_gripper: Annotated[bool, typer.Option(help="The gripper labels run on too (anticipated closes; the "
                                                      "fingers then shut ~1 cm early on the sponge). Off: each "
                                                      "waypoint's gripper label is the command of the moment.")
                              ] = False,
    occlusion_share: Annotated[float, typer.Option(help="Share of each batch seen through heavy occlusion (each "
                                                        "token missing from each frame at 10-45 %).")] = 0.0,
    init: Annotated[Path | None, typer.Option(help="Start from this checkpoint (fine-tune).")] = None,
    threads: int = 2,
    skills: Annotated[str, typer.Option(help="Comma-separated skills to train on (default: every skill in DATA; "
                                             "LIBERO: pick,place,pick_place,push, its parts stay scripted).")] = "",
    register: Annotated[bool, typer.Option(help="Copy to artifacts/<artifact> and list it in MANIFEST.")] = False,
    artifact: Annotated[str, typer.Option(help="Where --register puts it under artifacts/ (the kitchen's policy: "
                                               "skills/policy.pt; LIBERO's: skills/libero_policy.pt).")] = "",
) -> None:
    """Behaviour cloning on DATA (LeRobot v3 datasets recorded by `hvla data record` or `record-libero`).

    Data-parallel over several processes when started by torchrun (`torchrun --nproc-per-node 2 -m
    hvla.orchestration.cli train policy ...`): gloo on the CPU, rank 0 writes the run folder."""
    from hvla.skills.data.quality import QualityFilter
    from hvla.skills.policy.distributed import init_from_env
    from hvla.skills.policy.samples import AugmentConfig
    from hvla.skills.policy.train import TrainConfig, train_policy

    ranks = init_from_env()
    cfg = TrainConfig(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, accumulation=accumulation,
                      max_minutes=max_minutes, lr=lr,
                      curriculum_epochs=curriculum_epochs, max_episodes_per_skill=episodes_per_skill or None,
                      threads=threads, perceived_boost=perceived_boost, splice_phases=splice_phases,
                      splice_gripper=splice_gripper, augment=AugmentConfig(occluded_p=occlusion_share),
                      quality=QualityFilter(min_quality=min_quality, success_only=success_only),
                      skills=tuple(k for k in skills.split(",") if k) or None)
    try:
        result = train_policy(list(data), out, cfg, init=init, console=console, command=command_line())
    except HvlaError as exc:
        raise fail(exc) from None
    if not ranks.main:
        return
    console.print(f"best validation loss {result.best_val_loss:.4f} after {result.epochs_run} epochs "
                  f"({result.wall_s / 60:.1f} min): {result.checkpoint}")
    console.print(result.metrics)
    if register:
        _register(result.checkpoint, command_line(), result.metrics, artifact or None)


@app.command("dagger")
def dagger(
    rounds: Annotated[int, typer.Option(help="DAgger rounds after behaviour cloning.")] = 3,
    init: Annotated[Path, typer.Option(help="The behaviour-cloned checkpoint (round 0).")] = Path(
        "data/runs/bc/policy.pt"),
    data: DataPaths = [],  # noqa: B006  (typer reads the default; it is never mutated)
    out: Annotated[Path, typer.Option(help="Folder for each round's roll-outs and checkpoints.")] = Path(
        "data/runs/dagger"),
    episodes: Annotated[int, typer.Option(help="Roll-outs per round.")] = 60,
    skills: Annotated[str, typer.Option(help="Comma-separated skills rolled out in turn (repeat one to weight it). "
                                             "Wipe is left out by default: how much of the patch is done is not in "
                                             "the tokens, so the expert's labels from its tracked stroke contradict "
                                             "each other at one hand pose (one round took wipe from 6/8 to 0/8).")
                      ] = "pick,pick_place,place",
    beta: Annotated[float, typer.Option(help="Expert share of executed chunks in round 1 (halves each round).")] = 0.0,
    moved_share: Annotated[float, typer.Option(help="Share of roll-outs with the object moved mid-grasp.")] = 0.5,
    perception: Annotated[str, typer.Option(help="What the learner sees in roll-outs: oracle | yolo (the expert "
                                                 "labels from simulator truth either way).")] = "oracle",
    lead_in: Annotated[float, typer.Option(help="Share of roll-outs that start after another (scripted) skill.")
                       ] = 0.0,
    episodes_per_skill: Annotated[int, typer.Option(help="Use only the first N episodes of each skill of each "
                                                         "dataset (as the BC run it continues); 0 = all.")] = 0,
    dagger_boost: Annotated[float, typer.Option(help="Weight of a roll-out episode against a demonstration (with "
                                                     "few demonstrations, 1: the roll-outs already outnumber them).")
                            ] = 3.0,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs per round.")] = 6,
    curriculum_epochs: Annotated[int, typer.Option(help="Fine-tuning epochs on the cleanest scenes first (0: "
                                                        "every scene from the start).")] = 1,
    steps_per_epoch: int = 120,
    batch_size: int = 128,
    lr: Annotated[float, typer.Option(help="Peak fine-tuning learning rate.")] = 5e-4,
    max_minutes: Annotated[float, typer.Option(help="Fine-tuning budget per round.")] = 7.0,
    workers: Workers = 0,
    threads: int = 2,
    register: Annotated[bool, typer.Option(help="Register the last round's policy as the artefact.")] = False,
) -> None:
    """Roll out, label with the scripted expert, aggregate, fine-tune; success per round."""
    from hvla.orchestration.rollouts import dagger_collect
    from hvla.skills.policy.dagger import DaggerConfig, run_dagger
    from hvla.skills.policy.train import TrainConfig, train_policy

    cfg = DaggerConfig(rounds=rounds, episodes_per_round=episodes, beta0=beta, skills=tuple(skills.split(",")),
                       moved_object_share=moved_share, perception=perception, lead_in_p=lead_in)
    tcfg = TrainConfig(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, max_minutes=max_minutes,
                       curriculum_epochs=curriculum_epochs, warmup_steps=50, lr=lr, patience=3, threads=threads,
                       max_episodes_per_skill=episodes_per_skill or None, dagger_boost=dagger_boost,
                       **_label_recipe(init))

    def collect(r: int, checkpoint: Path, root: Path) -> dict[str, float]:
        return dagger_collect(r, checkpoint, root, cfg, workers or None)

    def retrain(datasets: list[Path], checkpoint: Path, run: Path) -> Path:
        return train_policy(datasets, run, tcfg, init=checkpoint, console=console, command=command_line()).checkpoint

    def show(rep) -> None:
        console.print(f"round {rep.round} (beta {rep.beta:.2f}): roll-out success "
                      + ", ".join(f"{k} {100 * v:.0f} %" for k, v in rep.success.items()))

    wall0 = time.time()
    try:
        reports = run_dagger(cfg, init, list(data), out, collect, retrain, show)
    except HvlaError as exc:
        raise fail(exc) from None
    summary = [{"round": r.round, "beta": r.beta, "success": r.success, "checkpoint": str(r.checkpoint)}
               for r in reports]
    (out / "dagger.json").write_text(json.dumps(summary, indent=2))
    console.print(f"DAgger done in {(time.time() - wall0) / 60:.1f} min; last policy {reports[-1].checkpoint}")
    if register:
        metrics = {f"round{r.round}_success": {k: round(v, 3) for k, v in r.success.items()} for r in reports}
        _register(reports[-1].checkpoint, command_line(), metrics)


@app.command("e2e")
def train_e2e_cmd(
    data: DataPaths,
    out: Annotated[Path, typer.Option(help="Run folder: e2e.pt, metrics.csv, train.json.")] = Path("data/runs/e2e"),
    epochs: int = 30,
    steps_per_epoch: int = 150,
    batch_size: int = 64,
    max_minutes: Annotated[float, typer.Option(help="Wall-time budget.")] = 30.0,
    curriculum_epochs: Annotated[int, typer.Option(help="Epochs to phase in cluttered scenes.")] = 4,
    episodes_per_skill: Annotated[int, typer.Option(help="Use only the first N episodes of each skill "
                                                         "(data-efficiency runs); 0 = all.")] = 0,
    image_size: Annotated[int, typer.Option(help="Pixels per side the cameras are resized to.")] = 64,
    erase_p: Annotated[float, typer.Option(help="Chance a camera image gets a grey rectangle (random erasing).")
                       ] = 0.25,
    threads: int = 2,
    register: Annotated[bool, typer.Option(help="Copy to artifacts/skills/e2e.pt and list it in MANIFEST.")] = False,
) -> None:
    """Behaviour cloning of the end-to-end baseline (pixels + words -> chunks) on DATA recorded with
    `hvla data record --cameras scene,wrist`."""
    from hvla.skills.e2e.checkpoint import ARTIFACT as E2E_ARTIFACT
    from hvla.skills.e2e.model import E2EConfig
    from hvla.skills.e2e.train import E2ETrainConfig, ImageAugment, train_e2e
    from hvla.skills.policy.distributed import init_from_env
    from hvla.skills.policy.train import TrainConfig

    ranks = init_from_env()  # data-parallel under torchrun, as `hvla train policy`
    base = TrainConfig(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, max_minutes=max_minutes,
                       curriculum_epochs=curriculum_epochs, warmup_steps=100, threads=threads,
                       max_episodes_per_skill=episodes_per_skill or None)
    cfg = E2ETrainConfig(base=base, augment=ImageAugment(erase_p=erase_p), model=E2EConfig(image_size=image_size))
    try:
        result = train_e2e(list(data), out, cfg, console=console, command=command_line())
    except HvlaError as exc:
        raise fail(exc) from None
    if not ranks.main:
        return
    console.print(f"best validation loss {result.best_val_loss:.4f} after {result.epochs_run} epochs "
                  f"({result.wall_s / 60:.1f} min): {result.checkpoint}")
    console.print(result.metrics)
    if register:
        _register(result.checkpoint, command_line(), result.metrics, E2E_ARTIFACT)


@app.command("anomaly")
def train_anomaly(
    data: DataPaths,
    policy: Annotated[Path | None, typer.Option(help="Policy checkpoint (default: the committed one).")] = None,
    out: Annotated[Path, typer.Option(help="Detector file (.npz).")] = Path("data/runs/anomaly.npz"),
    quantile: Annotated[float, typer.Option(help="Share of held-out normal frames under the limit.")] = 0.99,
    val_fraction: Annotated[float, typer.Option(help="Episodes held out to calibrate the limit.")] = 0.25,
    register: Annotated[bool, typer.Option(help="Copy to artifacts/skills/anomaly.npz and list it in MANIFEST "
                                                "(only for the committed policy).")] = False,
) -> None:
    """Fit the anomaly detector of a skill policy on the successful episodes of DATA (normal operation)."""
    from hvla.skills.data.quality import QualityFilter
    from hvla.skills.policy.anomaly import ARTIFACT, fit_detector
    from hvla.skills.policy.checkpoint import load_policy
    from hvla.skills.policy.samples import load_training_set
    from hvla.skills.policy.train import split_episodes

    try:
        loaded = load_policy(policy)
        ts = load_training_set(list(data), loaded.text, QualityFilter(success_only=True))
        loaded.model.text_table = loaded.text.tensor()  # words of these datasets the policy never saw
        fit_mask, val_mask = split_episodes(ts, val_fraction)
        detector, report = fit_detector(loaded, ts, fit_mask, val_mask, quantile)
        detector.save(out)
    except HvlaError as exc:
        raise fail(exc) from None
    table = Table(title=f"anomaly detector for {loaded.path} (limit: {quantile:.0%} of held-out normal frames)")
    for col in ("skill", "fit frames", "held-out frames", "limit", "variance kept"):
        table.add_column(col)
    for skill, r in report.items():
        if "skipped" in r:
            table.add_row(skill, "-", "-", "-", f"skipped: {r['skipped']}")
            continue
        table.add_row(skill, str(r["fit_frames"]), str(r["val_frames"]), f"{r['limit']:.2f}",
                      f"{r['explained_variance']:.0%}")
    Console().print(table)
    console.print(f"wrote {out}")
    if register:
        from hvla.core.artifacts import read_manifest
        from hvla.skills.policy.checkpoint import ARTIFACT as POLICY_ARTIFACT

        if read_manifest().get(POLICY_ARTIFACT, {}).get("sha256") != detector.policy_sha256:
            raise fail(HvlaError(f"--register: {loaded.path} is not the committed policy; the committed "
                                  "detector must watch the committed policy"))
        _register(out, command_line(), {"quantile": quantile, "skills": report}, ARTIFACT)


def _label_recipe(checkpoint: Path) -> dict[str, bool]:
    """How the checkpoint's labels were made (spliced, gripper too): fine-tuning keeps to it."""
    from hvla.skills.policy.checkpoint import load_policy
    from hvla.skills.policy.train import TrainConfig

    try:
        trained = load_policy(checkpoint).meta.get("train_config", {})
    except HvlaError as exc:
        raise fail(exc) from None
    return {k: bool(trained.get(k, getattr(TrainConfig, k))) for k in ("splice_phases", "splice_gripper")}


def _register(checkpoint: Path, command: str, metrics: dict, artifact: str | None = None) -> None:
    import shutil

    from hvla.core.artifacts import register_artifact, writable_artifacts_dir
    from hvla.skills.policy.checkpoint import ARTIFACT

    try:
        dest = writable_artifacts_dir() / (artifact or ARTIFACT)
    except HvlaError as exc:
        raise fail(exc) from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, dest)
    entry = register_artifact(dest, command, metrics)
    console.print(f"registered {entry['path']} ({entry['bytes'] / 1e6:.2f} MB, sha256 {entry['sha256'][:12]})")
