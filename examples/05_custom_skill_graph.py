"""05 - For application developers: compose your own skill graph, predicate and skill, and run it.

A Plan is a networkx DiGraph of Subgoals; an edge u -> v means u must succeed before v starts. Here:
two independent pick_place steps, a wipe that waits for both, then a NEW skill, `point_at(object)`
(hover the open hand 10 cm above it), registered under a new name in SKILL_POLICIES. A Subgoal's
`success` callable replaces the skill's built-in predicate: the executor calls it on every Scene.
Run: `.venv/bin/python examples/05_custom_skill_graph.py`
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from hvla.controllers import CartesianController
from hvla.core import panda
from hvla.core.errors import MessageError
from hvla.core.messages import ActionChunk, Plan, Proprio, Scene, ScenePredicate, Subgoal
from hvla.orchestration import events as ev
from hvla.orchestration.executor import Executor
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.base import SKILL_POLICIES
from hvla.skills.scripted.motion import hand_yaw, straight_chunk
from hvla.skills.scripted.policy import ScriptedSkills

SEED = 8  # a kitchen with a bowl and a cup
HOVER_M = 0.10


def hover_point(scene: Scene, name: str) -> np.ndarray | None:
    tok = scene.find(name)
    return None if tok is None else tok.position_m + np.array([0.0, 0.0, HOVER_M])


@SKILL_POLICIES.register("scripted_pointing")
class PointingSkills:
    """The scripted skills plus `point_at(object)`. Any SkillPolicy is just `reset` + `act`."""

    def __init__(self) -> None:
        self.scripted, self.subgoal = ScriptedSkills(), None

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.subgoal = subgoal
        if subgoal.skill != "point_at":
            self.scripted.reset(scene, subgoal)  # pick, place, pick_place, wipe
        elif hover_point(scene, subgoal.args.get("object", "")) is None:
            raise MessageError(f"point_at: no '{subgoal.args.get('object')}' in the scene")  # fails the attempt

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.subgoal is None or self.subgoal.skill != "point_at":
            return self.scripted.act(scene, proprio)
        goal = hover_point(scene, self.subgoal.args["object"])
        if goal is None:
            raise MessageError(f"point_at: lost sight of '{self.subgoal.args['object']}'")
        yaw = hand_yaw(proprio.T_world_ee)  # keep the hand's heading; 10 waypoints at 0.3 m/s
        return straight_chunk(proprio.ee_position_m, yaw, goal, yaw, panda.GRIPPER_MAX_M, speed_mps=0.3)


def hand_over(name: str, tol_m: float = 0.015) -> ScenePredicate:
    """point_at's success predicate: the hand is within `tol_m` of the hover point."""

    def holds(scene: Scene) -> bool:
        goal = hover_point(scene, name)
        return goal is not None and bool(np.linalg.norm(scene.observation.proprio.ee_position_m - goal) < tol_m)

    return holds


def banana_in_bowl_centre(scene: Scene) -> bool:
    """Stricter than the built-in 'in': the released banana lies within 5 cm of the bowl's centre."""
    banana, bowl = scene.find("banana"), scene.find("bowl")
    if banana is None or bowl is None:
        return False
    near = np.linalg.norm(banana.position_m[:2] - bowl.position_m[:2]) < 0.05
    low = banana.position_m[2] < bowl.position_m[2] + bowl.extent_m[2] / 2  # below the rim
    return bool(near and low and scene.observation.proprio.gripper_m > 0.05)  # and the hand has let go


graph = nx.DiGraph()
for sg in (
    Subgoal("banana", "pick_place", {"object": "banana", "target": "bowl"}, success=banana_in_bowl_centre),
    Subgoal("apple", "pick_place", {"object": "apple", "target": "cup"}),  # the built-in predicate
    Subgoal("wipe", "wipe", {"tool": "sponge", "region": "counter"}),
    Subgoal("point", "point_at", {"object": "lemon"}, success=hand_over("lemon"), timeout_s=10.0),
):
    graph.add_node(sg.id, subgoal=sg)
graph.add_edges_from([("apple", "wipe"), ("banana", "wipe"), ("wipe", "point")])
plan = Plan(graph, instruction="banana in the bowl, apple in the cup, wipe, then point at the lemon")
print("skill graph in execution order:", " -> ".join(sg.describe() for sg in plan.subgoals()))
print("ordering edges:", plan.edges())

world = KitchenWorld(seed=SEED)
policy = SKILL_POLICIES.get("scripted_pointing")()  # chosen by name, like `--skills` on the CLI
executor = Executor(world, OraclePerception(), policy, CartesianController())
shown = (ev.SUBGOAL_STARTED, ev.SUBGOAL_SUCCEEDED, ev.SUBGOAL_FAILED, ev.RETRY)
executor.events.subscribe(lambda e: e.kind in shown and print(f"  t={e.t_s:5.1f} s  {e.kind:<18} {e.subgoal_id}"))
result = executor.run_plan(plan)

_, scene = executor.observe()
banana, bowl = scene.find("banana"), scene.find("bowl")
print(f"banana is {np.linalg.norm(banana.position_m[:2] - bowl.position_m[:2]) * 100:.1f} cm from the bowl centre")
print(f"apple rests in: {world.truth().relations.get('apple')}")
print(f"hand is {np.linalg.norm(world.proprio().ee_position_m - hover_point(scene, 'lemon')) * 100:.1f} cm "
      "from the point 10 cm above the lemon")
for r in result.subgoals:
    print(f"subgoal {r.id:<7} {r.skill:<10} {r.outcome:<9} {r.duration_s:5.1f} s  {r.reason or ''}")
print(f"success: {result.success}  sim {result.sim_time_s:.1f} s, wall {result.wall_time_s:.1f} s")
raise SystemExit(0 if result.success else 1)
