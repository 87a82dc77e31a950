"""04 - Language to motion: plan an instruction with the rule planner, execute it, read the log back.

`session.run_episode` is what `hvla run` does: build the stack from registry names (`StackConfig`),
ground the instruction against what perception sees, walk the plan with the Executor, record the
episode and return a JSON-able report. Words that match nothing in the scene raise a GroundingError
before anything moves. Run: `.venv/bin/python examples/04_plan_and_run.py`  (logs in runs/examples/)
"""

from __future__ import annotations

import json
from pathlib import Path

from hvla.core.errors import GroundingError
from hvla.orchestration import session
from hvla.orchestration.builder import StackConfig
from hvla.orchestration.episode_log import load_episode

SEED = 3
INSTRUCTION = "put the banana in the bowl, then wipe the counter"
stack = StackConfig(perception="oracle", planner="rules", skills="scripted", controller="cartesian")

# 1. The plan alone: a DAG of grounded subgoals; nothing moves.
planned = session.plan_only(INSTRUCTION, SEED, stack)
print(f"plan for {INSTRUCTION!r} (seed {SEED}):")
for sg in planned["subgoals"]:
    print(f"  {sg['id']}: {sg['skill']}({', '.join(f'{k}={v}' for k, v in sg['args'].items())})")
print(f"  ordering edges: {planned['edges']}")

# 2. Bad input is refused with the word it could not ground and the objects in the scene.
try:
    session.plan_only("put the unicorn in the bowl", SEED, stack)
except GroundingError as exc:
    print(f"refused: {exc}")

# 3. Plan and execute, with an episode log.
report = session.run_episode(INSTRUCTION, SEED, stack, log_root=Path("runs") / "examples" / "logs")
print(f"\nexecuted: success={report['success']} failure={report['failure']}")
for r in report["subgoals"]:
    print(f"  {r['id']} {r['skill']:<10} {r['outcome']:<9} attempts={r['attempts']} {r['duration_s']:5.1f} s")
print(f"simulated {report['sim_time_s']:.1f} s in {report['wall_time_s']:.1f} s wall")
print("report keys:", json.dumps(sorted(report)))

# 4. The log folder holds every step, event and the outcome; load it back.
episode = load_episode(report["log_dir"], images=False)
print(f"log {episode.episode_id}: {len(episode.steps)} steps, {len(episode.events)} events, "
      f"state={episode.state}, incomplete={episode.incomplete}")
raise SystemExit(0 if report["success"] else 1)
