"""03 - One skill, closed loop: a scripted pick_place run by the Executor.

The Executor is the 10 Hz loop of the stack: observe -> perception -> success check -> skill policy
-> controllers. Here the layers are built by hand (no planner): the world is the robot, the oracle
perceives, the scripted skills act and the Cartesian controller moves the arm. Every step of the
loop shows up as a timestamped event. Run: `.venv/bin/python examples/03_single_skill.py`
"""

from __future__ import annotations

from hvla.controllers import CartesianController
from hvla.core.messages import Plan, Subgoal
from hvla.orchestration import events as ev
from hvla.orchestration.executor import Executor
from hvla.perception.oracle import OraclePerception
from hvla.sim import predicates
from hvla.sim.world import KitchenWorld
from hvla.skills.scripted.policy import ScriptedSkills

SEED = 3

world = KitchenWorld(seed=SEED)
executor = Executor(
    robot=world, perception=OraclePerception(), policy=ScriptedSkills(), controller=CartesianController()
)


def show(event: ev.Event) -> None:
    """Print everything but the 10 Hz chunk events (they are counted at the end)."""
    if event.kind != ev.CHUNK_ISSUED:
        detail = event.detail if isinstance(event.detail, str) else dict(event.detail)
        print(f"  t={event.t_s:5.1f} s  {event.kind:<18} {event.subgoal_id or '':<4} {detail or ''}")


executor.events.subscribe(show)

step = Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"})
print(f"kitchen seed {SEED}: {step.describe()}")
result = executor.run_plan(Plan.sequence([step], instruction="put the banana in the bowl"))

chunks = executor.events.of_kind(ev.CHUNK_ISSUED)
truth = world.truth()
print(f"{len(chunks)} action chunks issued at 10 Hz")
print(f"banana is in the bowl: {predicates.is_in(truth, 'banana', 'bowl')}; held: {truth.grasped}")
for r in result.subgoals:
    print(f"subgoal {r.id} {r.skill}: {r.outcome} after {r.attempts} attempt(s), {r.duration_s:.1f} s simulated")
print(f"success: {result.success}  sim {result.sim_time_s:.1f} s, wall {result.wall_time_s:.1f} s")
raise SystemExit(0 if result.success else 1)
