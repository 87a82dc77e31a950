"""The process's threading policy: applied, every pool loaded runs at its size; bad sizes are refused."""

import pytest
import torch
from threadpoolctl import ThreadpoolController, threadpool_limits

from hvla.core.errors import ConfigError
from hvla.core.threads import ThreadPolicy, apply_thread_policy


def test_apply_limits_every_loaded_pool_and_torch():
    import sklearn.neighbors  # noqa: F401  (loads scikit-learn's own OpenMP copy)

    old_torch = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the pools' sizes after the test
        try:
            apply_thread_policy(ThreadPolicy(compute=1))
            pools = ThreadpoolController().info()
            assert pools, "threadpoolctl found no BLAS or OpenMP pool to limit"
            assert {p["num_threads"] for p in pools} == {1}, pools
            assert torch.get_num_threads() == 1
        finally:
            torch.set_num_threads(old_torch)


@pytest.mark.parametrize("compute, detector", [(0, 2), (1, 0)])
def test_thread_counts_below_one_are_refused(compute, detector):
    with pytest.raises(ConfigError, match="thread counts"):
        ThreadPolicy(compute=compute, detector=detector)
