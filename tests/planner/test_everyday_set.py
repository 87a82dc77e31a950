"""The held-out everyday instruction set (benchmarks/planner_everyday.py) is one the benchmark can score:
big enough, every language category at its minimum, no instruction twice nor from the benchmark's other
sets, every expected label readable by benchmarks/planner.py on the scene it runs on (nothing is planned)."""

from __future__ import annotations

from collections import Counter

# plotting first: the others import it (and planner imports planner_everyday). Loaded by the `bench` fixture.
BENCHMARK_MODULES = ("plotting", "planner_everyday", "planner")


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
