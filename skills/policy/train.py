"""Behaviour cloning of the object-centric policy from LeRobot datasets.

One epoch = `steps_per_epoch` batches drawn with replacement by weight: episode quality x skill
balance (rare skills oversampled) x a boost for recovery frames, restricted by the curriculum
(clean scenes first, clutter and synthetic distractors phased in). AdamW, linear warm-up then
cosine decay, validation on held-out episodes after each epoch, early stopping, the best
checkpoint kept, one CSV row per epoch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor

from hvla.core.errors import ConfigError
from hvla.skills.data.quality import QualityFilter
from hvla.skills.data.record import PERCEIVED_SUFFIX
from hvla.skills.policy import features as ft
from hvla.skills.policy.checkpoint import LoadedPolicy, dataset_hash, load_policy, save_policy
from hvla.skills.policy.distributed import current as current_ranks
from hvla.skills.policy.model import ObjectCentricPolicy, PolicyConfig, count_parameters
from hvla.skills.policy.samples import AugmentConfig, TrainingSet, augment, gather, load_training_set
from hvla.skills.policy.text import TextTable, default_vocabulary


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    steps_per_epoch: int = 250
    batch_size: int = 256  # per rank and micro-batch: the effective batch is batch_size x ranks x accumulation
    accumulation: int = 1  # micro-batches per optimiser step (their gradients add up)
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 200
    min_lr_fraction: float = 0.05
    val_fraction: float = 0.1  # of episodes, chosen by a hash of their uid (stable across runs)
    patience: int = 6  # epochs without validation improvement before stopping
    max_minutes: float = 20.0
    curriculum_epochs: int = 8  # clean scenes only at first, every scene from this epoch on
    balance_power: float = 0.5  # skill weight ~ (frames of the skill)^-power: 0 none, 1 equal shares
    recovery_boost: float = 2.0
    switch_boost: float = 4.0  # frames where the label opens/closes the gripper
    max_episodes_per_skill: int | None = None  # data-efficiency runs: the first N episodes of each skill
    dagger_boost: float = 3.0  # weight of DAgger roll-out episodes relative to demonstrations
    perceived_boost: float = 2.0  # weight of episodes on the detector's tokens relative to oracle-token ones
    # A hand stuck in place (a roll-out jammed on a rim for 15 s) repeats one state with one label: such a
    # run of still frames weighs this many frames in all, not its length (it had outweighed whole skills).
    still_cap_frames: int = 10
    splice_phases: bool = True  # chunk labels run on across the expert's phase switches (samples.py)
    # True: gripper labels run on too. They then anticipate the close, and with the temporal ensemble the
    # fingers shut a step (~1 cm) early: the sponge was gripped by its top edge (learned wipe 75 % vs 95 %).
    splice_gripper: bool = False
    yaw_weight: float = 1.0  # L1 on yaw [rad] next to L1 on offsets [10 cm]: a box grasp needs degrees
    skills: tuple[str, ...] | None = None  # train only these skills' episodes (None: every recorded skill)
    quality: QualityFilter = field(default_factory=QualityFilter)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: PolicyConfig = field(default_factory=PolicyConfig)
    seed: int = 0
    threads: int = 2

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.batch_size < 1 or self.accumulation < 1:
            raise ConfigError("epochs, steps_per_epoch, batch_size and accumulation must be >= 1")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction={self.val_fraction} must be in [0, 1)")


@dataclass
class TrainResult:
    checkpoint: Path
    best_val_loss: float
    epochs_run: int
    metrics: dict[str, float]
    wall_s: float


def split_episodes(ts: TrainingSet, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (E,) masks: validation by a hash of each uid, so splits survive re-recording.

    A perceived episode (`<uid>-perceived`) goes where its oracle twin goes: the two share states and
    labels, so splitting them would leak validation frames into training.
    """
    val = np.array([(zlib.crc32(u.removesuffix(PERCEIVED_SUFFIX).encode()) % 1000) / 1000 < val_fraction
                    for u in ts.ep_uid])
    if val.all() or (val_fraction > 0 and not val.any()):
        val = np.zeros(len(val), bool)
        val[:: max(2, int(round(1 / max(val_fraction, 1e-3))))] = True
    train = ~val & (ts.ep_weight.numpy() > 0)
    return train, val & (ts.ep_weight.numpy() > 0)


def frame_weights(ts: TrainingSet, episodes: np.ndarray, cfg: TrainConfig, clutter_limit: int) -> Tensor:
    """(F,) sampling weights: quality x skill balance x recovery boost, 0 outside `episodes` or the curriculum."""
    ep_w = ts.ep_weight.numpy() * episodes * (ts.ep_clutter.numpy() <= clutter_limit)
    skill_names = np.array(ts.ep_skill_name)
    frames_per_ep = np.bincount(ts.episode.numpy(), minlength=len(ep_w))
    for skill in set(ts.ep_skill_name):
        sel = skill_names == skill
        total = float((frames_per_ep[sel] * (ep_w[sel] > 0)).sum())
        if total > 0:
            ep_w[sel] *= total ** -cfg.balance_power
    w = ep_w[ts.episode.numpy()] * still_weights(ts, cfg.still_cap_frames)
    w = w * np.where(ts.recovery.numpy(), cfg.recovery_boost, 1.0) * np.where(ts.switch.numpy(), cfg.switch_boost, 1.0)
    return torch.from_numpy(w).float()


def still_weights(ts: TrainingSet, cap_frames: int, window: int = 10, still_m: float = 0.005) -> np.ndarray:
    """(F,) weights: frames of a run where hand and fingers moved < `still_m` over `window` steps share `cap_frames`.

    Short dwells (closing the fingers) never count as still: the window is a second long."""
    frame = ts.frame.numpy()
    pose = np.c_[ts.state[:, :3].numpy(), ts.state[:, 7].numpy()]
    rows = np.arange(len(frame))
    past = np.maximum(rows - window, 0)
    still = (frame >= window) & (np.linalg.norm(pose - pose[past], axis=1) < still_m)
    w = np.ones(len(frame))
    if not still.any():
        return w
    # Label each run of consecutive still frames (within one episode) and spread `cap_frames` over it.
    starts = still & ~np.r_[False, still[:-1] & (frame[1:] == frame[:-1] + 1)]
    run_id = np.cumsum(starts) - 1
    lengths = np.bincount(run_id[still], minlength=int(run_id.max()) + 1)
    w[still] = np.minimum(1.0, cap_frames / lengths[run_id[still]])
    return w


def chunk_loss(out: Tensor, action: Tensor, state: Tensor, yaw_weight: float) -> tuple[Tensor, dict[str, float]]:
    """L1 on waypoint offsets (first 3 waypoints doubled: the loop executes those) and yaw; BCE on the gripper."""
    dpos, dyaw, grip = ft.encode_targets(action, state)
    k = out.shape[1]
    w = torch.ones(k)
    w[:3] = 2.0
    w = w / w.mean()
    pos_l = ((out[..., :3] - dpos).abs().sum(-1) * w).mean()
    yaw_l = ((out[..., 3] - dyaw).abs() * w).mean()
    grip_l = (torch.nn.functional.binary_cross_entropy_with_logits(out[..., 4], grip, reduction="none") * w).mean()
    loss = pos_l + yaw_weight * yaw_l + grip_l
    with torch.no_grad():
        err_mm = ((out[:, 0, :3] - dpos[:, 0]).norm(dim=-1) * ft.ACT_POS_SCALE_M * 1e3).mean().item()
        acc = ((out[..., 4] > 0).float() == grip).float().mean().item()
    return loss, {"pos": pos_l.item(), "yaw": yaw_l.item(), "grip": grip_l.item(), "wp1_err_mm": err_mm,
                  "grip_acc": acc}


def batched_metrics(rows: np.ndarray, batch: int, loss_of: Callable[[Tensor], tuple[Tensor, dict[str, float]]]
                    ) -> dict[str, float]:
    """Frame-weighted means of `loss_of(row indices)` -> (loss, parts) over `rows`, without gradients.

    Validation: `fit` puts the model in eval mode around it."""
    sums: dict[str, float] = {}
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            idx = torch.from_numpy(rows[i:i + batch])
            loss, parts = loss_of(idx)
            for k, v in {"loss": loss.item(), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
    return {k: v / max(len(rows), 1) for k, v in sums.items()}


def evaluate(model: ObjectCentricPolicy, ts: TrainingSet, rows: np.ndarray, *, yaw_weight: float,
             batch: int = 1024) -> dict[str, float]:
    def loss_of(idx: Tensor) -> tuple[Tensor, dict[str, float]]:
        raw, action = gather(ts, idx)
        return chunk_loss(model(raw), action, raw.state[:, 0], yaw_weight)

    return batched_metrics(rows, batch, loss_of)


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_fraction + (1 - cfg.min_lr_fraction) * 0.5 * (1 + np.cos(np.pi * progress)))


def train_policy(
    data: list[Path], out: Path, cfg: TrainConfig | None = None, init: Path | None = None,
    console: Console | None = None, progress: bool = True, command: str = "",
) -> TrainResult:
    """Train on `data`, write `out/policy.pt` (best validation) and `out/metrics.csv`.

    `init` starts from an existing checkpoint (DAgger rounds fine-tune instead of starting over).
    """
    cfg = cfg or TrainConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    start: LoadedPolicy | None = load_policy(init) if init else None
    text = start.text if start else TextTable.build(default_vocabulary())
    ts = load_training_set(list(data), text, cfg.quality, cfg.max_episodes_per_skill, cfg.dagger_boost,
                           cfg.perceived_boost, cfg.splice_phases, cfg.splice_gripper, cfg.skills)
    model = start.model if start else ObjectCentricPolicy(cfg.model, text.tensor())
    if len(text.texts) != model.text_table.shape[0]:
        model.text_table = text.tensor()
    model.keep_attention = False

    def batch_loss(rows: Tensor, ramp: float, gen: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        raw, action = gather(ts, rows)
        raw = augment(raw, cfg.augment, ramp, ts.stand_in_ids, gen)
        return chunk_loss(model(raw), action, raw.state[:, 0], cfg.yaw_weight)

    def save(path: Path, meta: dict[str, Any]) -> None:
        save_policy(path, model, text, meta)

    return fit(model, ts, cfg, Path(out) / "policy.pt", batch_loss,
               lambda rows: evaluate(model, ts, rows, yaw_weight=cfg.yaw_weight), save,
               {"dataset_hash": dataset_hash(list(data)), "datasets": [str(p) for p in data],
                "world": ts.world, "skills": ts.skills, "label_z_min_m": ts.label_z_min_m,
                "train_config": _jsonable(asdict(cfg)), "command": command}, console, progress)


BatchLoss = Callable[[Tensor, float, torch.Generator], tuple[Tensor, dict[str, float]]]


def fit(model: torch.nn.Module, ts: TrainingSet, cfg: TrainConfig, checkpoint: Path, batch_loss: BatchLoss,
        validate: Callable[[np.ndarray], dict[str, float]], save: Callable[[Path, dict[str, Any]], None],
        meta: dict[str, Any], console: Console | None = None, progress: bool = True) -> TrainResult:
    """The behaviour-cloning loop any policy of this package trains with (see the module docstring).

    `batch_loss(rows, curriculum ramp 0..1, generator)` -> (loss, parts) for frames `rows` of `ts`;
    `validate(rows)` -> metrics with "loss"; `save(path, meta)` writes a checkpoint. The best one by
    validation loss lands at `checkpoint`, the metrics next to it (metrics.csv, train.json).
    """
    console = console or Console(stderr=True)
    ranks = current_ranks()  # data-parallel under torchrun (distributed.py); one process otherwise
    if not ranks.main:
        console, progress = Console(file=io.StringIO()), False
    wall0 = time.time()
    out = checkpoint.parent
    out.mkdir(parents=True, exist_ok=True)
    model.train()
    train_eps, val_eps = split_episodes(ts, cfg.val_fraction)
    val_rows = ts.subset_episodes(val_eps)
    micro = cfg.batch_size * ranks.world  # one micro-batch of the global batch: every rank's slice of it
    console.print(f"training on {int(train_eps.sum())} episodes ({len(ts.subset_episodes(train_eps))} frames), "
                  f"validating on {int(val_eps.sum())}; model {count_parameters(model) / 1e3:.0f} k parameters; "
                  f"effective batch {cfg.batch_size} x {ranks.world} ranks x {cfg.accumulation} = "
                  f"{micro * cfg.accumulation}")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)  # the global batch's draw: the same on every rank
    # Augmentation draws differ per rank (one process: the same generator, as before ranks existed).
    aug_gen = gen if ranks.world == 1 else torch.Generator().manual_seed(cfg.seed * 1000 + ranks.rank + 1)
    max_clutter = int(ts.ep_clutter.max())
    min_clutter = int(ts.ep_clutter[torch.from_numpy(train_eps)].min()) if train_eps.any() else 0
    total_steps = cfg.epochs * cfg.steps_per_epoch
    meta_base = {**meta, "episodes": int(train_eps.sum() + val_eps.sum())}
    best, best_epoch, step, history = float("inf"), -1, 0, []
    csv_path = out / "metrics.csv"
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[info]}"), console=console, disable=not progress)
    with bar, open(csv_path if ranks.main else os.devnull, "w", newline="") as csv_file:
        writer: csv.DictWriter | None = None
        task = bar.add_task("train", total=total_steps, info="")
        for epoch in range(cfg.epochs):
            ramp = min(1.0, epoch / cfg.curriculum_epochs) if cfg.curriculum_epochs > 0 else 1.0
            # The cleanest scenes there are first (a dataset may hold no scene without distractors).
            clutter_limit = max_clutter if ramp >= 1 else max(min_clutter, int(np.floor(ramp * max_clutter)))
            weights = frame_weights(ts, train_eps, cfg, clutter_limit)
            n_micro = cfg.steps_per_epoch * cfg.accumulation
            rows = torch.multinomial(weights, n_micro * micro, replacement=True, generator=gen)
            train_sums: dict[str, float] = {}
            for b in range(cfg.steps_per_epoch):
                for group in opt.param_groups:
                    group["lr"] = _lr_at(step, total_steps, cfg)
                opt.zero_grad(set_to_none=True)
                step_sums: dict[str, float] = {}
                for a in range(cfg.accumulation):
                    first = (b * cfg.accumulation + a) * micro + ranks.rank * cfg.batch_size
                    loss, parts = batch_loss(rows[first:first + cfg.batch_size], ramp, aug_gen)
                    (loss / cfg.accumulation).backward()
                    for k, v in {"loss": loss.item(), **parts}.items():
                        step_sums[k] = step_sums.get(k, 0.0) + v / cfg.accumulation
                ranks.average_gradients(model)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                step += 1
                for k, v in step_sums.items():
                    train_sums[k] = train_sums.get(k, 0.0) + ranks.mean(v)
                bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {train_sums['loss'] / (b + 1):.3f}")
            if len(val_rows):
                model.eval()
                val = validate(val_rows)
                model.train()
            else:
                val = {"loss": train_sums["loss"] / cfg.steps_per_epoch}
            row = {"epoch": epoch + 1, "step": step, "lr": _lr_at(step, total_steps, cfg),
                   "clutter_limit": clutter_limit, "wall_s": round(time.time() - wall0, 1),
                   **{f"train_{k}": v / cfg.steps_per_epoch for k, v in train_sums.items()},
                   **{f"val_{k}": v for k, v in val.items()}}
            if ranks.main:
                if writer is None:
                    writer = csv.DictWriter(csv_file, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                csv_file.flush()
            history.append(row)
            # Only a full-curriculum epoch can be the best: earlier ones never saw the cluttered scenes.
            # Every rank computes the same validation of the same weights, so they all take the same branch.
            if ramp >= 1 and val["loss"] < best:
                best, best_epoch = val["loss"], epoch
                if ranks.main:
                    save(checkpoint, {**meta_base, "epoch": epoch + 1, "val": val})
            elif ramp >= 1 and epoch - best_epoch >= cfg.patience:
                console.print(f"early stop at epoch {epoch + 1}: no validation gain for {cfg.patience} epochs")
                break
            if ranks.any((time.time() - wall0) / 60 > cfg.max_minutes):
                console.print(f"time budget of {cfg.max_minutes:g} min reached at epoch {epoch + 1}")
                break
    if best_epoch < 0:  # budget ran out inside the curriculum: keep what there is
        val = history[-1]
        best = float(val.get("val_loss", float("nan")))
        if ranks.main:
            save(checkpoint, {**meta_base, "epoch": len(history), "val": val})
    final = history[best_epoch] if best_epoch >= 0 else history[-1]
    metrics = {k: round(float(v), 4) for k, v in final.items() if k.startswith("val_")}
    if ranks.main:
        (out / "train.json").write_text(json.dumps({"metrics": metrics, "epochs_run": len(history),
                                                    "ranks": ranks.world, "accumulation": cfg.accumulation,
                                                    "effective_batch": micro * cfg.accumulation,
                                                    **meta_base}, indent=2, default=str))
    return TrainResult(checkpoint, best, len(history), metrics, time.time() - wall0)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value
