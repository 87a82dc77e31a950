"""The held-out everyday instruction set (benchmarks/planner_everyday.py) is one the benchmark can score:
big enough, every language category at its minimum, no instruction twice nor from the benchmark's other
sets, every expected label readable by benchmarks/planner.py on the scene it runs on (nothing is planned)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    """The benchmark scripts as modules, under the names they import each other by (as in
    tests/test_benchmark_plots.py): plotting and the data module first, then planner."""
    names = ("plotting", "planner_everyday", "planner")
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


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def test_size_and_categories(bench):
    data = bench["planner_everyday"]
    assert len(data.EVERYDAY) >= 220
    counts = Counter(category for category, _, _ in data.EVERYDAY)
    assert set(counts) == set(data.MINIMUM)
    for category, minimum in data.MINIMUM.items():
        assert counts[category] >= minimum, (category, counts[category], minimum)


def test_no_instruction_twice_nor_from_the_other_sets(bench):
    data, planner = bench["planner_everyday"], bench["planner"]
    texts = [_norm(text) for _, text, _ in data.EVERYDAY]
    assert [t for t, n in Counter(texts).items() if n > 1] == []
    others = {_norm(c.instruction) for c in planner.all_cases()} | {
        _norm(text) for text, _ in (*planner.PARAPHRASES_TEST, *planner.PARAPHRASES_FRESH, *planner.PARAPHRASES_DEV)
    } | {_norm(text) for text in planner.NONSENSE}
    assert sorted(set(texts) & others) == []
    assert set(data.WHEN) <= {text for _, text, _ in data.EVERYDAY}  # every condition belongs to an entry


def test_every_label_reads_on_its_scene(bench):
    planner = bench["planner"]
    cases = planner.everyday_cases()  # raises when no scene fits an entry
    assert len(cases) == len(bench["planner_everyday"].EVERYDAY)
    for case in cases:
        scene = planner.scene_for(case.seed)
        names = {t.name for t in scene.tokens}
        if case.expect is not None:
            steps, edges = planner.expected_steps(case.expect, scene)  # the benchmark's own label parser
            assert steps, case
            for step in steps:
                args = dict(a.split("=") for a in step[step.index("(") + 1 : -1].split(", "))
                assert {v for k, v in args.items() if k != "region"} <= names, (case, step)
            assert all(a in steps and b in steps for a, b in edges)
        elif case.ask is not None:
            assert case.category == "question" and len(case.ask) >= 2 and case.ask <= names, case
        else:
            assert case.category in ("refuse", "other"), case
    assert {c.category for c in cases if c.ask is not None} == {"question"}
    assert all(c.expect is None for c in cases if c.category in ("refuse", "question"))
