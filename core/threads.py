"""The process's one threading policy: how many threads each runtime's pool may use while the loop runs.

The loop runs small models one after another (detector, policy, nearest-neighbour monitor, IK) on a 2-core
machine it shares with the simulator here and with drivers on a robot. Every runtime brings its own pool, sized
to the cores by default: torch's OpenMP, scikit-learn's OpenMP (a second copy of the library), OpenBLAS (two
copies), ONNX Runtime's. Idle pools spin; several spinning on 2 busy cores turned a 0.3 ms nearest-neighbour query
into 60-160 ms (benchmarks/tick.py). So one policy decides, and `apply_thread_policy` sets every pool loaded in the
process to it; the builder applies it to every stack it wires.

- `compute`: torch, OpenMP and BLAS pools. One: the loop's matrices are small (a 16-d query against 6000 points,
  a policy of a few hundred thousand parameters), where a second thread costs more in hand-over than it saves.
- `detector`: ONNX Runtime's intra-op pool for the detector, the one model worth two threads (13.1 -> 7.7 ms at
  224 px); it is created with spinning off, so its threads sleep between frames.

Training sets its own torch threads (`--threads`): there the cores are the trainer's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from hvla.core.errors import ConfigError


@dataclass(frozen=True)
class ThreadPolicy:
    compute: int = 1
    detector: int = 2

    def __post_init__(self) -> None:
        if self.compute < 1 or self.detector < 1:
            raise ConfigError(f"thread counts must be >= 1; got compute={self.compute}, detector={self.detector}")


LOOP_THREADS = ThreadPolicy()


def apply_thread_policy(policy: ThreadPolicy = LOOP_THREADS) -> None:
    """Limit every thread pool loaded in this process to `policy.compute` (ONNX Runtime sessions take their
    count when made: `policy.detector` for the detector, 1 for the policy). Libraries loaded later start with
    their own defaults: apply once the stack is built."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=policy.compute)  # OpenMP and BLAS, every copy loaded, process-wide
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(policy.compute)
