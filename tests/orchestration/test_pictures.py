"""Pictures for the README: the plan drawn as a graph, the kitchen as its cameras see it (PNG files)."""

from __future__ import annotations

import imageio.v3 as iio
import networkx as nx
import pytest
from typer.testing import CliRunner

from hvla.orchestration.cli import app
from hvla.orchestration.pictures import GUTTER, KITCHEN_SIZE, draw_plan, plan_graph

REPORT = {
    "instruction": "put the apple on the plate and the banana in the bowl, then wipe the counter", "seed": 3,
    "subgoals": [{"id": "s0", "skill": "pick_place", "args": {"object": "apple", "target": "plate"}},
                 {"id": "s1", "skill": "pick_place", "args": {"object": "banana", "target": "bowl"}},
                 {"id": "s2", "skill": "wipe", "args": {"region": "counter", "tool": "sponge"}}],
    "edges": [["s0", "s2"], ["s1", "s2"]],
}


def test_the_plan_graph_has_a_node_per_subgoal_and_an_edge_per_ordering_drawn_in_columns(tmp_path):
    graph = plan_graph(REPORT)
    assert sorted(graph.edges) == [("s0", "s2"), ("s1", "s2")]
    assert graph.nodes["s2"]["subgoal"]["skill"] == "wipe"
    assert [sorted(c) for c in nx.topological_generations(graph)] == [["s0", "s1"], ["s2"]]
    image = iio.imread(draw_plan(REPORT, tmp_path / "docs" / "plan.png"))
    assert image.ndim == 3 and image.shape[1] > image.shape[0] > 100  # two columns: wider than tall
    assert draw_plan({**REPORT, "subgoals": [], "edges": []}, tmp_path / "empty.png").exists()


@pytest.mark.render
def test_hvla_plan_draws_the_graph_and_saves_the_kitchen_small_enough_for_the_readme(tmp_path):
    graph, kitchen = tmp_path / "plan.png", tmp_path / "kitchen.png"
    result = CliRunner().invoke(app, ["plan", REPORT["instruction"], "--seed", "3", "--perception", "oracle",
                                      "--graph", str(graph), "--kitchen", str(kitchen)])
    assert result.exit_code == 0, result.output
    assert f"plan graph: {graph}" in " ".join(result.stderr.split())
    assert iio.imread(kitchen).shape == (KITCHEN_SIZE, 2 * KITCHEN_SIZE + GUTTER, 3)  # scene | wrist
    assert kitchen.stat().st_size < 300_000 and graph.stat().st_size < 300_000
