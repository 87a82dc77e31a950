"""Data-parallel training: two gloo processes on half the batch each train as one process on the whole batch."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hvla.core.errors import ConfigError
from hvla.skills.policy.distributed import Ranks, current
from hvla.skills.policy.samples import AugmentConfig
from hvla.skills.policy.train import TrainConfig, train_policy

from .test_policy import _dataset

# No augmentation: its random draws are per rank by design, and would make the two runs differ.
_QUIET = AugmentConfig(jitter_m=0, jitter_role_m=0, jitter_frame_m=0, drop_object_p=0, drop_frame_p=0,
                       distractor_p=0, proprio_noise_m=0, gripper_noise_m=0, stand_in_p=0)


def _config(batch: int, accumulation: int = 1) -> TrainConfig:
    return TrainConfig(epochs=2, steps_per_epoch=4, batch_size=batch, accumulation=accumulation, warmup_steps=1,
                       curriculum_epochs=0, val_fraction=0.0, threads=1, augment=_QUIET)


def _train_losses(run: Path) -> list[float]:
    with open(run / "metrics.csv") as f:
        return [float(row["train_loss"]) for row in csv.DictReader(f)]


def _rank(rank: int, world: int, rendezvous: str, data: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        assert current() == Ranks(rank, world)
        train_policy([Path(data)], Path(out), _config(batch=8), progress=False)
    finally:
        dist.destroy_process_group()


def test_two_processes_on_half_batches_match_one_process_on_the_whole(tmp_path, episode_factory):
    data = _dataset(tmp_path / "data", episode_factory)
    train_policy([data], tmp_path / "one", _config(batch=16), progress=False)
    mp.spawn(_rank, args=(2, str(tmp_path / "rendezvous"), str(data), str(tmp_path / "two")), nprocs=2, join=True)
    one, two = _train_losses(tmp_path / "one"), _train_losses(tmp_path / "two")
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):
        assert abs(a - b) <= 0.02 * abs(a), (one, two)  # the bound: within 2 %
    assert not (tmp_path / "two" / "metrics.csv.1").exists()


def test_accumulation_matches_a_batch_that_large(tmp_path, episode_factory):
    data = _dataset(tmp_path / "data", episode_factory)
    train_policy([data], tmp_path / "whole", _config(batch=16), progress=False)
    train_policy([data], tmp_path / "accumulated", _config(batch=8, accumulation=2), progress=False)
    for a, b in zip(_train_losses(tmp_path / "whole"), _train_losses(tmp_path / "accumulated")):
        assert abs(a - b) <= 0.02 * abs(a)


def test_one_process_is_rank_zero_of_one():
    ranks = current()
    assert ranks == Ranks() and ranks.main and ranks.mean(3.0) == 3.0 and ranks.any(True)
    model = torch.nn.Linear(2, 1)
    model(torch.ones(1, 2)).sum().backward()
    before = model.weight.grad.clone()
    ranks.average_gradients(model)
    assert torch.equal(model.weight.grad, before)


def test_accumulation_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="accumulation"):
        TrainConfig(accumulation=0)
