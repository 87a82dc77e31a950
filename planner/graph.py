"""Grounded, checked steps -> the plan graph: the last stage of every backend, so every plan has one shape.

Nodes are subgoals "s0", "s1", ... in the order the steps were given (offset by `first_id` when a
re-plan continues after done steps); edges are the ordering the backend chose, reduced to the fewest
that imply it. Scores are SayCan's: per subgoal `<id>` = language x feasibility, plus `<id>.language`
and `<id>.feasibility`; `plan` is the lowest. Each plan is validated against the scene before it leaves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from hvla.core.messages import Plan, Scene, Subgoal
from hvla.planner.feasibility.validation import validate_plan

if TYPE_CHECKING:
    from hvla.planner.feasibility.candidates import Candidate


@dataclass(frozen=True)
class PlannedStep:
    skill: str
    args: tuple[tuple[str, str], ...]
    language: float  # how well the words fit the grounded step, in [0, 1]
    feasibility: float  # SayCan's value of the step from the simulated state, in (0, 1]


def plan_graph(instruction: str, scene: Scene, steps: Sequence[PlannedStep], edges: Iterable[tuple[int, int]], *,
               first_id: int = 0, keep: Collection[int] | None = None, timeout_s: float | None = None) -> Plan:
    """The validated plan of `steps` with `edges` (before, after) as indices into `steps`.

    `keep`: the indices still to do (a re-plan); the order the dropped steps implied between the others
    is kept, and ids stay those of the full plan, so "s2" names the same step before and after.
    """
    graph = nx.DiGraph()
    ids = [f"s{first_id + k}" for k in range(len(steps))]
    for sid, step in zip(ids, steps, strict=True):
        graph.add_node(sid, subgoal=Subgoal(sid, step.skill, dict(step.args), timeout_s=timeout_s),
                       language=step.language, feasibility=step.feasibility)
    graph.add_edges_from((ids[a], ids[b]) for a, b in edges)
    if keep is not None and nx.is_directed_acyclic_graph(graph):
        graph = nx.transitive_closure_dag(graph).subgraph([ids[k] for k in sorted(keep)]).copy()
    if nx.is_directed_acyclic_graph(graph):  # a cycle is refused by Plan itself, with its message
        reduced = nx.transitive_reduction(graph)
        reduced.add_nodes_from(graph.nodes(data=True))
        graph = reduced
    scores: dict[str, float] = {}
    for n, d in graph.nodes(data=True):
        scores[n] = float(d["language"] * d["feasibility"])
        scores[f"{n}.language"] = float(d["language"])
        scores[f"{n}.feasibility"] = float(d["feasibility"])
    scores["plan"] = min((scores[n] for n in graph.nodes), default=1.0)
    plan = Plan(graph, instruction, scores)
    validate_plan(plan, scene)
    return plan


def chain(n: int) -> list[tuple[int, int]]:
    """Edges that run `n` steps one after another."""
    return [(k, k + 1) for k in range(n - 1)]


def build_plan(instruction: str, scene: Scene, steps: Sequence[tuple[Candidate, float]],
               edges: Sequence[tuple[int, int]] | None = None, first_id: int = 0) -> Plan:
    """The model backends' plan from (candidate step, language score) pairs; `edges` None chains them."""
    planned = [PlannedStep(c.skill, c.args, language, c.feasibility) for c, language in steps]
    return plan_graph(instruction, scene, planned, chain(len(steps)) if edges is None else edges, first_id=first_id)
