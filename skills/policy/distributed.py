"""Data-parallel training on torch.distributed: which rank this process is, and what the ranks share.

    torchrun --nproc-per-node 2 -m hvla.orchestration.cli train policy --data ... --out ...   # 2 CPU processes

Each rank draws the same global batch (one generator, one seed) and trains on its slice of it; after each
backward pass the gradients are averaged over the ranks (one all-reduce of one flat buffer: what DDP's
buckets do, without wrapping the module, since every policy's loss closure holds the module itself). The
effective batch is batch_size x world size x accumulation; rank 0 alone writes checkpoints and metrics, and
decisions taken on the wall clock (the time budget) are agreed by all ranks so none waits for the others
forever. Gloo runs on the CPU, so the same code scales from 2 local processes to several machines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Whether this rank writes files and prints (rank 0)."""
        return self.rank == 0

    def average_gradients(self, module: torch.nn.Module) -> None:
        """Replace every gradient by its mean over the ranks."""
        if self.world == 1:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean(self, value: float) -> float:
        """`value` averaged over the ranks (a logged loss: the global batch's, not one slice's)."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on one (a time budget one rank ran out of)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())


def current() -> Ranks:
    """The process group this process belongs to (none: a single process)."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()


def init_from_env() -> Ranks:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), over gloo;
    a process started without them trains alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available() and not dist.is_initialized():
        dist.init_process_group("gloo")
    return current()
