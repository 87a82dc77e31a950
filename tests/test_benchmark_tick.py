"""benchmarks/tick.py measures every part of a real tick (oracle + scripted: fast), and its load is its own."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.orchestration.builder import StackConfig

# results_cache first: tick imports it. Loaded by the `bench` fixture.
BENCHMARK_MODULES = ("results_cache", "tick")


@pytest.fixture(scope="module")
def runs(bench):
    """One kitchen for half a simulated second (about 5 ticks), idle."""
    stack = StackConfig(perception="oracle", skills="scripted")
    return bench["tick"].measure(bench["tick"].INSTRUCTION, [0], stack, load=0, seconds=0.5)


def test_every_tick_is_the_sum_of_its_parts(bench, runs):
    tick = bench["tick"]
    samples = tick.tick_samples(runs)
    assert len(samples["tick"]["wall"]) >= 3
    for clock in tick.CLOCKS:
        parts = sum(samples[part][clock] for part in tick.PARTS)
        np.testing.assert_allclose(samples["tick"][clock], parts)
        for part in (*tick.PARTS, "tick"):
            assert np.all(samples[part][clock] >= 0), (part, clock)


def test_table_lists_every_part_with_sensible_numbers(bench, runs):
    tick = bench["tick"]
    rows = tick.summarise(runs)
    assert [r.part for r in rows] == [*tick.PARTS, "tick"]
    for r in rows:
        for stats in (r.thread_ms, r.process_ms, r.wall_ms):
            median, p95, worst = stats
            assert 0 <= median <= p95 <= worst < 1000, (r.part, stats)
    by_part = {r.part: r for r in rows}
    assert by_part["control"].wall_ms[0] > 0.1  # IK + ruckig + safety for 50 control steps is not free
    text = tick.report(runs, load=0)
    for part in (*tick.PARTS, "tick", *tick.SIM_PARTS):
        assert part in text


def test_simulator_time_is_kept_out_of_the_tick(bench, runs):
    sim = bench["tick"].simulator(runs)
    assert sim.per_tick_ms["physics"] > 0 and sim.per_tick_ms["state reads"] > 0
    assert sim.per_tick_ms["render"] == 0  # the oracle reads no camera
    assert sim.sim_rtf > sim.loop_rtf > 0


def test_competing_load_is_started_and_ended_by_the_benchmark(bench):
    with bench["tick"].competing_load(2) as procs:
        assert len(procs) == 2 and all(p.poll() is None for p in procs)
    assert all(p.returncode is not None for p in procs)
