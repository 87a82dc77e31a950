"""Pictures for people: the kitchen as its cameras see it, and a plan drawn as a graph. PNG, offline.

    hvla plan "put the apple on the plate and the banana in the bowl, then wipe the counter" --seed 3 \
        --kitchen docs/kitchen.png --graph docs/plan.png

The plan is drawn from the plan report (`session.plan_only`): one box per subgoal, in columns by
ordering (a subgoal's column is after every subgoal it waits for), an arrow u -> v where u must succeed
before v starts. matplotlib draws through its Agg canvas only (no pyplot, no display needed).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from hvla.orchestration.builder import StackConfig, build_world

KITCHEN_SIZE = 400  # px per camera; the two side by side stay well under 300 KB as PNG
GUTTER = 4  # px of white between the cameras
SKILL_COLOURS = {"pick": "#cfe2f3", "place": "#d9ead3", "pick_place": "#fff2cc", "wipe": "#f4cccc"}


def kitchen_picture(seed: int, path: Path, stack: StackConfig | None = None, size: int = KITCHEN_SIZE) -> Path:
    """The kitchen of `seed` at rest, every camera of the world side by side (scene, wrist), as a PNG."""
    import imageio.v3 as iio

    world = build_world(seed, replace(stack or StackConfig(), image_size=size))
    try:
        frames = [frame.rgb for frame in world.observe().frames.values()]
    finally:
        world.close()
    height = max(f.shape[0] for f in frames)
    gutter = np.full((height, GUTTER, 3), 255, np.uint8)
    row = [part for f in frames for part in (gutter, f)][1:]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.concatenate(row, axis=1))
    return path


def plan_graph(report: dict[str, Any]) -> nx.DiGraph:
    """The plan report's DAG: nodes are subgoal ids (attribute `subgoal`: its JSON), edges the ordering."""
    graph = nx.DiGraph()
    for subgoal in report["subgoals"]:
        graph.add_node(subgoal["id"], subgoal=subgoal)
    graph.add_edges_from(tuple(e) for e in report["edges"])
    return graph


def draw_plan(report: dict[str, Any], path: Path) -> Path:
    """Draw the plan of `report` (from `session.plan_only`) as a PNG at `path`."""
    from matplotlib.figure import Figure

    graph = plan_graph(report)
    columns = list(nx.topological_generations(graph)) if graph else []
    height = max((len(c) for c in columns), default=1)
    fig = Figure(figsize=(max(3.2 * len(columns), 4.0), 1.3 * height + 0.9), dpi=100)
    ax = fig.add_axes((0, 0, 1, 0.86))
    ax.set_axis_off()
    ax.set_xlim(-0.6, max(len(columns) - 0.4, 0.6))
    ax.set_ylim(-height / 2, height / 2)
    fig.suptitle(f"{report.get('instruction', '')!r} (seed {report.get('seed', '?')})", fontsize=10)
    pos = {node: (x, (len(column) - 1) / 2 - i) for x, column in enumerate(columns)
           for i, node in enumerate(sorted(column))}
    for u, v in graph.edges:
        ax.annotate("", xy=pos[v], xytext=pos[u],
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 52, "shrinkB": 52, "lw": 1.4})
    for node, (x, y) in pos.items():
        subgoal = graph.nodes[node]["subgoal"]
        args = "\n".join(f"{k}: {v}" for k, v in subgoal["args"].items())
        ax.text(x, y, f"{node}  {subgoal['skill']}\n{args}", ha="center", va="center", fontsize=9, linespacing=1.4,
                bbox={"boxstyle": "round,pad=0.6", "fc": SKILL_COLOURS.get(subgoal["skill"], "#eeeeee"),
                      "ec": "#555555"})
    if not pos:
        ax.text(0, 0, "no subgoals", ha="center", va="center")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
