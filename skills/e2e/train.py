"""Behaviour cloning of the end-to-end network on the same demonstrations the skill policy learns from.

Samples, labels, data balancing, the clean-to-cluttered curriculum, the optimiser and its schedule,
the validation split and early stopping are the object-centric policy's (`policy/train.py`); what
differs is the input: decoded camera frames (randomly shifted, colour-jittered and partly erased)
and a sentence the operator might have typed, drawn per sample from `instructions.TRAIN_TEMPLATES`.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor

from hvla.core.errors import DatasetError
from hvla.skills.data.lerobot import load_dataset
from hvla.skills.data.quality import episode_args
from hvla.skills.e2e.checkpoint import save_e2e
from hvla.skills.e2e.images import dataset_images
from hvla.skills.e2e.instructions import phrasings
from hvla.skills.e2e.model import E2EConfig, EndToEndPolicy
from hvla.skills.policy import features as ft
from hvla.skills.policy.checkpoint import dataset_hash
from hvla.skills.policy.model import count_parameters
from hvla.skills.policy.samples import TrainingSet, gather, load_training_set
from hvla.skills.policy.text import TextTable, default_vocabulary, embed
from hvla.skills.policy.train import (
    TrainConfig,
    TrainResult,
    _jsonable,
    _lr_at,
    chunk_loss,
    frame_weights,
    split_episodes,
)


@dataclass(frozen=True)
class ImageAugment:
    shift_px: int = 4  # random translation per camera (DrQ-style pad-and-crop)
    brightness: float = 0.15
    contrast: float = 0.15
    erase_p: float = 0.25  # chance a camera gets a grey rectangle (random erasing, partial occlusion)
    erase_side: tuple[float, float] = (0.15, 0.4)  # the rectangle's sides, as shares of the image side
    proprio_noise_m: float = 0.002
    gripper_noise_m: float = 0.001


@dataclass(frozen=True)
class E2ETrainConfig:
    base: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=30, steps_per_epoch=150, batch_size=64, lr=1e-3, warmup_steps=100, curriculum_epochs=4, patience=6))
    augment: ImageAugment = field(default_factory=ImageAugment)
    model: E2EConfig = field(default_factory=E2EConfig)


@dataclass
class E2ESet:
    ts: TrainingSet
    images: Tensor  # (F, 3 * cameras, S, S) uint8
    sentences: Tensor  # (T, 384) MiniLM vectors of every phrasing
    ep_sentences: list[list[int]]  # per episode: rows of `sentences` that phrase its subgoal


def load_e2e_set(paths: list[Path], cfg: E2ETrainConfig) -> E2ESet:
    """The token-policy training set (states, labels, weights) plus the frames and phrasings of each episode."""
    base = cfg.base
    ts = load_training_set(paths, TextTable.build(default_vocabulary()), base.quality, base.max_episodes_per_skill,
                           base.dagger_boost, 1.0, base.splice_phases, base.splice_gripper)
    images, texts, ep_sentences = [], {}, []
    for path in paths:
        ds = load_dataset(path, ["frame_index"])
        images.append(dataset_images(ds, size=cfg.model.image_size))
        for e in ds.episodes:
            ids = []
            for sentence in phrasings(e["hvla/skill"], episode_args(e)):
                ids.append(texts.setdefault(sentence, len(texts)))
            ep_sentences.append(ids)
    frames = np.concatenate(images)
    if len(frames) != ts.num_frames:
        raise DatasetError(f"videos hold {len(frames)} frames, the datasets {ts.num_frames}: {paths}")
    return E2ESet(ts, torch.from_numpy(frames), torch.from_numpy(embed(list(texts))), ep_sentences)


def augment_images(images: Tensor, aug: ImageAugment, gen: torch.Generator) -> Tensor:
    """(B, 3C, S, S) uint8 -> float 0..1, each camera shifted, jittered and maybe erased on its own."""
    x = images.float() / 255.0
    B, C3, S, _ = x.shape
    cams = x.view(B, C3 // 3, 3, S, S)
    p = aug.shift_px
    padded = torch.nn.functional.pad(cams.flatten(0, 1), (p, p, p, p), mode="replicate")
    padded = padded.view(B, -1, 3, S + 2 * p, S + 2 * p)
    dx = torch.randint(0, 2 * p + 1, (B, cams.shape[1]), generator=gen)
    dy = torch.randint(0, 2 * p + 1, (B, cams.shape[1]), generator=gen)
    out = torch.empty_like(cams)
    for b in range(B):
        for c in range(cams.shape[1]):
            out[b, c] = padded[b, c, :, dy[b, c]:dy[b, c] + S, dx[b, c]:dx[b, c] + S]
    gain = 1 + aug.brightness * (2 * torch.rand(B, cams.shape[1], 1, 1, 1, generator=gen) - 1)
    con = 1 + aug.contrast * (2 * torch.rand(B, cams.shape[1], 1, 1, 1, generator=gen) - 1)
    mean = out.mean(dim=(2, 3, 4), keepdim=True)
    out = ((out - mean) * con + mean) * gain
    lo, hi = aug.erase_side
    for b, c in torch.nonzero(torch.rand(B, cams.shape[1], generator=gen) < aug.erase_p).tolist():
        h, w = (max(1, int(S * (lo + (hi - lo) * float(u)))) for u in torch.rand(2, generator=gen))
        y0 = int(torch.randint(0, S - h + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, S - w + 1, (1,), generator=gen))
        out[b, c, :, y0:y0 + h, x0:x0 + w] = 0.5
    return out.clamp(0, 1).view(B, C3, S, S)


def _batch(data: E2ESet, rows: Tensor, aug: ImageAugment | None, gen: torch.Generator
           ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    raw, action = gather(data.ts, rows)
    state = raw.state.clone()
    episodes = data.ts.episode[rows].tolist()
    if aug is None:
        images = data.images[rows].float() / 255.0
        choice = [data.ep_sentences[e][0] for e in episodes]
    else:
        images = augment_images(data.images[rows], aug, gen)
        state[:, 1:, :3] += torch.randn(state[:, 1:, :3].shape, generator=gen) * aug.proprio_noise_m
        state[..., 7] += torch.randn(state[..., 7].shape, generator=gen) * aug.gripper_noise_m
        pick = torch.rand(len(episodes), generator=gen).tolist()
        choice = [data.ep_sentences[e][int(u * len(data.ep_sentences[e]))] for e, u in zip(episodes, pick)]
    proprio = ft.proprio_features(ft.RawBatch(raw.tokens, raw.init_tokens, state, raw.roles, raw.skill, raw.args,
                                              raw.arg_roles))
    return images, data.sentences[choice], proprio, action, raw.state[:, 0]


def evaluate_e2e(model: EndToEndPolicy, data: E2ESet, rows: np.ndarray, yaw_weight: float,
                 batch: int = 256) -> dict[str, float]:
    model.eval()
    sums: dict[str, float] = {}
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            idx = torch.from_numpy(rows[i:i + batch])
            images, text, proprio, action, state = _batch(data, idx, None, gen)
            loss, parts = chunk_loss(model(images, text, proprio), action, state, yaw_weight)
            for k, v in {"loss": loss.item(), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
    model.train()
    return {k: v / max(len(rows), 1) for k, v in sums.items()}


def train_e2e(data: list[Path], out: Path, cfg: E2ETrainConfig | None = None, console: Console | None = None,
              progress: bool = True, command: str = "") -> TrainResult:
    """Train on `data` (datasets recorded with `--cameras scene,wrist`); write `out/e2e.pt` and `out/metrics.csv`."""
    cfg = cfg or E2ETrainConfig()
    base = cfg.base
    console = console or Console(stderr=True)
    torch.manual_seed(base.seed)
    torch.set_num_threads(base.threads)
    wall0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sets = load_e2e_set(list(data), cfg)
    ts = sets.ts
    model = EndToEndPolicy(cfg.model)
    train_eps, val_eps = split_episodes(ts, base.val_fraction)
    val_rows = ts.subset_episodes(val_eps)
    console.print(f"training on {int(train_eps.sum())} episodes ({len(ts.subset_episodes(train_eps))} frames), "
                  f"validating on {int(val_eps.sum())}; model {count_parameters(model) / 1e3:.0f} k parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=base.lr, weight_decay=base.weight_decay)
    gen = torch.Generator().manual_seed(base.seed)
    max_clutter = int(ts.ep_clutter.max())
    total = base.epochs * base.steps_per_epoch
    meta = {"dataset_hash": dataset_hash(list(data)), "datasets": [str(p) for p in data],
            "train_config": _jsonable(asdict(cfg)), "command": command,
            "episodes": int(train_eps.sum() + val_eps.sum())}
    best, best_epoch, step, history = float("inf"), -1, 0, []
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[info]}"), console=console, disable=not progress)
    with bar, open(out / "metrics.csv", "w", newline="") as csv_file:
        writer: csv.DictWriter | None = None
        task = bar.add_task("train e2e", total=total, info="")
        for epoch in range(base.epochs):
            ramp = min(1.0, epoch / max(1, base.curriculum_epochs))
            clutter_limit = max_clutter if ramp >= 1 else int(np.floor(ramp * max_clutter))
            weights = frame_weights(ts, train_eps, base, clutter_limit)
            rows = torch.multinomial(weights, base.steps_per_epoch * base.batch_size, replacement=True, generator=gen)
            sums: dict[str, float] = {}
            for b in range(base.steps_per_epoch):
                for group in opt.param_groups:
                    group["lr"] = _lr_at(step, total, base)
                images, text, proprio, action, state = _batch(
                    sets, rows[b * base.batch_size:(b + 1) * base.batch_size], cfg.augment, gen)
                loss, parts = chunk_loss(model(images, text, proprio), action, state, base.yaw_weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                step += 1
                for k, v in {"loss": loss.item(), **parts}.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {loss.item():.3f}")
            val = evaluate_e2e(model, sets, val_rows, base.yaw_weight) if len(val_rows) else \
                {"loss": sums["loss"] / base.steps_per_epoch}
            row = {"epoch": epoch + 1, "step": step, "lr": _lr_at(step, total, base), "clutter_limit": clutter_limit,
                   "wall_s": round(time.time() - wall0, 1),
                   **{f"train_{k}": v / base.steps_per_epoch for k, v in sums.items()},
                   **{f"val_{k}": v for k, v in val.items()}}
            if writer is None:
                writer = csv.DictWriter(csv_file, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            csv_file.flush()
            history.append(row)
            if ramp >= 1 and val["loss"] < best:
                best, best_epoch = val["loss"], epoch
                save_e2e(out / "e2e.pt", model, {**meta, "epoch": epoch + 1, "val": val})
            elif ramp >= 1 and epoch - best_epoch >= base.patience:
                console.print(f"early stop at epoch {epoch + 1}: no validation gain for {base.patience} epochs")
                break
            if (time.time() - wall0) / 60 > base.max_minutes:
                console.print(f"time budget of {base.max_minutes:g} min reached at epoch {epoch + 1}")
                break
    if best_epoch < 0:  # the budget ran out inside the curriculum: keep what there is
        best = float(history[-1].get("val_loss", float("nan")))
        save_e2e(out / "e2e.pt", model, {**meta, "epoch": len(history), "val": history[-1]})
    final = history[best_epoch] if best_epoch >= 0 else history[-1]
    metrics = {k: round(float(v), 4) for k, v in final.items() if k.startswith("val_")}
    (out / "train.json").write_text(json.dumps({"metrics": metrics, "epochs_run": len(history), **meta},
                                               indent=2, default=str))
    return TrainResult(out / "e2e.pt", best, len(history), metrics, time.time() - wall0)
