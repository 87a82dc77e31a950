"""Every benchmark's --plot draws its table rows as a valid, modest PNG (synthetic rows: nothing is run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from hvla.core.errors import ConfigError
from hvla.orchestration.rollouts import PolicySpec, RolloutResult

MAX_BYTES = 150_000


# plotting first: the others import it (and planner imports planner_everyday). Loaded by the `bench` fixture.
BENCHMARK_MODULES = ("plotting", "skills", "approaches", "planner_everyday", "planner", "faults", "control")


def assert_png(path: Path) -> None:
    assert path.exists(), path
    size = path.stat().st_size
    assert 0 < size < MAX_BYTES, f"{path.name}: {size} bytes"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()  # a truncated or corrupt file raises here
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_planner_plot_draws_groups_and_summary_per_backend(bench, tmp_path):
    planner = bench["planner"]
    groups = (*planner.PLAN_GROUPS, "ambiguous", "impossible", "nonsense")
    rows = []
    for backend, hit in (("rules", 0), ("offline", 1)):
        outcomes = [planner.Outcome(planner.Case(g, seed, "put the banana in the bowl"), (seed + hit) % 3 > 0,
                                    seed % 2 == 0, 0.001 * (seed + 1), "", used_model=hit == 1)
                    for g in groups for seed in range(4)]
        rows.append(planner.summarise(backend, "synthetic", outcomes))
    planner.print_table(rows)  # the table prints from the same rows
    assert_png(planner.plot(rows, "test machine", tmp_path / "planner.png"))


def test_faults_plot_marks_pass_and_fail_against_the_limit(bench, tmp_path):
    faults = bench["faults"]
    rows = [faults.CaseResult("camera dropout (wrist)", "continues", "succeeded", True,
                              faults.LimitRatios(0.5, 0.25, 0.24)),
            faults.CaseResult("e-stop at full speed", "stops within limits", "stopped", True,
                              faults.LimitRatios(0.14, 0.9, 0.69)),
            faults.CaseResult("a made-up overshoot", "stops within limits", "overshot", False,
                              faults.LimitRatios(1.3, 0.5, 0.2), lost=1),
            faults.CaseResult("prompt injection", "refused", "refused", True)]
    assert_png(faults.plot(rows, "test machine", tmp_path / "faults.png"))


def test_control_plot_draws_latency_render_and_success(bench, tmp_path):
    control, share = bench["control"], bench["plotting"].Share
    controllers = [("IK solve, warm start (q + 0.05 rad)", 0.42, 1.39, ""), ("ruckig update (7 DoF)", 0.004, 0.02, "")]
    renders = [("scene 128x128 (rgb + depth)", 9.5, 105.0), ("wrist 224x224 (rgb + depth)", 11.3, 89.0)]
    experts = [("pick(banana)", share(2, 2), 4.1, ""), ("wipe(sponge, counter)", share(1, 2), 9.0, "timeout")]
    assert_png(control.plot(controllers, renders, experts, 2, "test machine", tmp_path / "control.png"))


def _results(case: str, successes: list[bool]) -> list[RolloutResult]:
    return [RolloutResult(case, 10_000 + i, ok, 5.0, 2.0, chunk_ms=1.0) for i, ok in enumerate(successes)]


def test_skills_plot_draws_success_per_case_per_policy(bench, tmp_path):
    skills, plotting = bench["skills"], bench["plotting"]
    results = {"scripted": {"pick(banana)": _results("pick(banana)", [True, True]),
                            "wipe(sponge, counter)": _results("wipe(sponge, counter)", [True, False])},
               "learned": {"pick(banana)": _results("pick(banana)", [True, False])}}  # one case never ran
    panels = [skills.table("Success per skill and object", results),
              skills.table("A skill after another", results, by_skill=False)]
    assert panels[0].categories[-2:] == ("pick (all)", "wipe (all)")
    assert_png(plotting.save_bars(tmp_path / "skills.png", "benchmarks/skills.py", "test machine", panels))


def test_approaches_plot_draws_success_per_condition_per_stack(bench, tmp_path):
    approaches, plotting = bench["approaches"], bench["plotting"]
    conditions = ["none", "moved_object"]
    results = {stack: {c: {"pick(banana)": _results("pick(banana)", [True, i > 0]),
                           "pick_place(lemon, bowl)": _results("pick_place(lemon, bowl)", [i == 2, True])}
                       for c in conditions} for i, stack in enumerate(approaches.STACKS)}
    specs = {stack: (PolicySpec("scripted"), "oracle") for stack in approaches.STACKS}  # no checkpoint to read
    panels = approaches.report(results, specs, conditions)
    assert [p.categories for p in panels[:1]] == [("none", "moved object")]
    assert_png(plotting.save_bars(tmp_path / "approaches.png", "benchmarks/approaches.py", "test machine", panels))


def test_a_panel_with_a_missing_value_is_refused(bench):
    with pytest.raises(ConfigError, match="series lengths"):
        bench["plotting"].Bars("t", "success [%]", ("a", "b"), {"x": (1.0,)})
