"""Train the planner head: `hvla train planner-head` (about two minutes on one CPU thread).

    generate tagged instructions (hvla.planner.head.data) -> MiniLM word vectors (frozen)
    -> bidirectional GRU tagger (torch, AdamW) -> artifacts/planner_head.npz + its entry in artifacts/MANIFEST

Three sets are drawn from the grammar with different seeds: training, validation (same word lists)
and "unseen" (verbs, fillers and adverbs never trained on), so the metrics say how the head does on
words it has not seen. The run is deterministic for a given seed on one thread.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hvla.core.artifacts import ARTIFACTS_DIR, register_artifact
from hvla.core.errors import ConfigError
from hvla.planner.head.data import TAG_INDEX, Example, generate
from hvla.planner.head.model import (
    HEAD_ARTIFACT,
    TRAIN_COMMAND,
    HeadWeights,
    PlannerHead,
    build_net,
    net_arrays,
    word_features,
)
from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder


@dataclass(frozen=True)
class TrainConfig:
    n_train: int = 6000
    n_val: int = 800
    proj: int = 128
    hidden: int = 96
    epochs: int = 10
    batch_sentences: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if min(self.n_train, self.n_val, self.proj, self.hidden, self.epochs, self.batch_sentences, self.threads) < 1:
            raise ConfigError("sizes, epochs, batch_sentences and threads must be >= 1")


def _encode(encoder: MiniLMEncoder, examples: list[Example]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sentence: (W, 2D) features and (W,) tag ids."""
    encoded = encoder.encode_many([e.words for e in examples])
    return [
        (word_features(enc), np.array([TAG_INDEX[t] for t in e.tags], dtype=np.int64))
        for enc, e in zip(encoded, examples, strict=True)
    ]


def _metrics(head: PlannerHead, data: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    x_id = TAG_INDEX["X"]
    words = right = sentences_right = 0
    flagged_foreign = foreign = false_alarms = clean = 0
    for x, y in data:
        pred = head.probs(x).argmax(axis=1)
        words += len(y)
        right += int((pred == y).sum())
        sentences_right += int((pred == y).all())
        if (y == x_id).any():
            foreign += 1
            flagged_foreign += int((pred == x_id).any())
        else:
            clean += 1
            false_alarms += int((pred == x_id).any())
    return {
        "word_accuracy": round(right / words, 4),
        "sentence_accuracy": round(sentences_right / len(data), 4),
        "foreign_recall": round(flagged_foreign / max(foreign, 1), 4),
        "foreign_false_alarm": round(false_alarms / max(clean, 1), 4),
    }


def train(config: TrainConfig = TrainConfig(), encoder: MiniLMEncoder | None = None) -> tuple[HeadWeights, dict]:
    """Weights and metrics (validation and unseen-word sets)."""
    import torch

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    encoder = encoder or shared_encoder()
    t0 = time.time()
    train_set = generate(config.n_train, seed=config.seed, split="seen")
    seen = {e.words for e in train_set}
    val_set = [e for e in generate(config.n_val * 2, seed=config.seed + 1, split="seen") if e.words not in seen]
    unseen_set = generate(config.n_val, seed=config.seed + 2, split="unseen")
    data = _encode(encoder, train_set)
    flat = np.concatenate([x for x, _ in data])
    mu, sigma = flat.mean(axis=0), flat.std(axis=0) + 1e-4
    net = build_net(flat.shape[1], config.proj, config.hidden, config.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batches = int(np.ceil(len(data) / config.batch_sentences))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * batches)
    xs = [torch.from_numpy((x - mu) / sigma) for x, _ in data]
    ys = [torch.from_numpy(y) for _, y in data]
    gen = torch.Generator().manual_seed(config.seed)
    net.train()
    for _ in range(config.epochs):
        for idx in torch.randperm(len(xs), generator=gen).split(config.batch_sentences):
            x = torch.nn.utils.rnn.pad_sequence([xs[i] for i in idx], batch_first=True)
            y = torch.nn.utils.rnn.pad_sequence([ys[i] for i in idx], batch_first=True, padding_value=-100)
            lengths = torch.tensor([len(ys[i]) for i in idx])
            loss = torch.nn.functional.cross_entropy(net(x, lengths).flatten(0, 1), y.flatten(), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    weights = HeadWeights(net_arrays(net, mu, sigma), meta={"train_config": asdict(config)})
    head = PlannerHead(weights)
    metrics = {
        "train_sentences": len(train_set), "train_words": len(flat),
        "val": _metrics(head, _encode(encoder, val_set[: config.n_val])),
        "unseen_words": _metrics(head, _encode(encoder, unseen_set)),
        "train_s": round(time.time() - t0, 1),
    }
    return weights, metrics


def train_and_save(config: TrainConfig, out: Path | None = None, register: bool = True) -> dict:
    """Train, write the weights (float16) and, for the committed artefact, record them in the MANIFEST."""
    weights, metrics = train(config)
    out = Path(out) if out is not None else ARTIFACTS_DIR / HEAD_ARTIFACT
    out.parent.mkdir(parents=True, exist_ok=True)
    HeadWeights(weights.arrays, {**weights.meta, "metrics": metrics}).save(out)
    if register:
        register_artifact(out, TRAIN_COMMAND, metrics)
    return metrics
