from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from hvla.skills.data import schema
from hvla.skills.data.lerobot import EpisodeRecord


def synthetic_episode(uid: str, n: int, seed: int = 0, skill: str = "pick", success: bool = True) -> EpisodeRecord:
    """An episode with random but valid columns (no simulation needed)."""
    rng = np.random.default_rng(seed)
    env = np.zeros((n, schema.N_SLOTS, schema.TOKEN_DIM), np.float32)
    env[:, :3, 0] = 1.0
    env[:, :3, 1:4] = rng.uniform(0.3, 0.6, (1, 3, 3))
    env[:, :3, 4:7] = 0.05
    state = rng.normal(size=(n, schema.STATE_DIM)).astype(np.float32)
    state[:, 3:7] = [0.0, 1.0, 0.0, 0.0]
    action = np.tile(np.r_[0.5, 0.0, 0.2, 0.0, 1.0, 0.0, 0.0, 0.08], (n, schema.CHUNK_K)).astype(np.float32)
    executed = action + rng.normal(scale=0.01, size=action.shape).astype(np.float32)
    cols = {
        "observation.state": state,
        "observation.environment_state": env.reshape(n, -1),
        "action": executed[:, : schema.ACTION_DIM],
        "label.chunk": action,
        "executed.chunk": executed,
        "expert.phase": np.minimum(np.arange(n) // 5, 4),
        "noise.active": rng.random(n) < 0.2,
        "is_recovery": rng.random(n) < 0.2,
        "next.done": np.arange(n) == n - 1,
        "next.success": (np.arange(n) == n - 1) & success,
    }
    meta = {"skill": skill, "args": '{"object": "banana"}', "success": success, "failure": None if success else "x",
            "objects": ["apple", "banana", "bowl"], "labels": ["apple", "banana", "bowl"],
            "categories": ["fruit", "fruit", "container"], "seed": seed, "n_distractors": 0, "source": "test"}
    return EpisodeRecord(uid, f"{skill}(object=banana)", cols, meta)


@pytest.fixture
def episode_factory():
    return synthetic_episode


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench(request):
    """The benchmark scripts the test module names in BENCHMARK_MODULES, loaded as modules under the names they
    import each other by (as when run as scripts, where benchmarks/ is the first entry of the import path), in
    that order; sys.modules is restored afterwards."""
    names = request.module.BENCHMARK_MODULES
    saved = {n: sys.modules.get(n) for n in names}
    modules = {}
    try:
        for name in names:
            spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            modules[name] = module
        yield modules
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
