"""Behaviour cloning of the end-to-end network on the same demonstrations the skill policy learns from.

Samples, labels, data balancing, the clean-to-cluttered curriculum, the optimiser and its schedule,
the validation split and early stopping are the object-centric policy's (`policy/train.py`); what
differs is the input: decoded camera frames (randomly shifted, colour-jittered and partly erased)
and a sentence the operator might have typed, drawn per sample from `instructions.TRAIN_TEMPLATES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
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
from hvla.skills.policy.samples import TrainingSet, gather, load_training_set
from hvla.skills.policy.text import TextTable, default_vocabulary, embed
from hvla.skills.policy.train import TrainConfig, TrainResult, _jsonable, batched_metrics, chunk_loss, fit


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
    """Validation metrics on clean frames with each episode's first phrasing."""
    gen = torch.Generator().manual_seed(0)

    def loss_of(idx: Tensor) -> tuple[Tensor, dict[str, float]]:
        images, text, proprio, action, state = _batch(data, idx, None, gen)
        return chunk_loss(model(images, text, proprio), action, state, yaw_weight)

    return batched_metrics(rows, batch, loss_of)


def train_e2e(data: list[Path], out: Path, cfg: E2ETrainConfig | None = None, console: Console | None = None,
              progress: bool = True, command: str = "") -> TrainResult:
    """Train on `data` (datasets recorded with `--cameras scene,wrist`); write `out/e2e.pt` and `out/metrics.csv`."""
    cfg = cfg or E2ETrainConfig()
    base = cfg.base
    torch.manual_seed(base.seed)
    torch.set_num_threads(base.threads)
    sets = load_e2e_set(list(data), cfg)
    model = EndToEndPolicy(cfg.model)

    def batch_loss(rows: Tensor, ramp: float, gen: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        images, text, proprio, action, state = _batch(sets, rows, cfg.augment, gen)
        return chunk_loss(model(images, text, proprio), action, state, base.yaw_weight)

    return fit(model, sets.ts, base, Path(out) / "e2e.pt", batch_loss,
               lambda rows: evaluate_e2e(model, sets, rows, base.yaw_weight),
               lambda path, meta: save_e2e(path, model, meta),
               {"dataset_hash": dataset_hash(list(data)), "datasets": [str(p) for p in data],
                "train_config": _jsonable(asdict(cfg)), "command": command}, console, progress)
