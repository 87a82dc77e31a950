"""The console's episodes: each one lives on its own worker thread, from building its world to releasing it.

MuJoCo's offscreen renderer holds an EGL context that belongs to the thread that made it; a world
garbage-collected on another thread printed EGL_BAD_ACCESS tracebacks. So the worker builds the world,
plans, runs, then closes the renderer and drops every reference before it ends (`/api/plan` does the
same through `on_own_thread`). Whatever the worker raises ends its run in the `error` state with the
message: a dead thread once left a run "planning" forever and every later run got 409.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hvla.core.errors import HvlaError
from hvla.core.messages import Plan, Scene, Subgoal
from hvla.orchestration import events as ev
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.console_guard import BusyError, ConflictError, NotFoundError
from hvla.orchestration.console_oversight import ApprovalGate, EstopLatch
from hvla.orchestration.console_requests import RunRequest
from hvla.orchestration.console_view import View, capture
from hvla.orchestration.executor import EpisodeResult, Executor
from hvla.orchestration.session import plan_report, scene_summary

KEEP_RUNS = 20  # finished runs kept for the page; older ones are dropped
ACTIVE = ("planning", "running")
OPERATOR_ESTOP = "operator e-stop from the console"
log = logging.getLogger("hvla.console")
T = TypeVar("T")

# The plan graph's node colours follow these events.
_NODE_STATE = {
    ev.APPROVAL_REQUESTED: "awaiting",
    ev.SUBGOAL_STARTED: "running",
    ev.SUBGOAL_SUCCEEDED: "succeeded",
    ev.SUBGOAL_FAILED: "failed",
    ev.SUBGOAL_STOPPED: "stopped",
}


@dataclass
class Run:
    """One episode as the page sees it. Written by its worker thread, read by request threads."""

    id: int
    request: RunRequest
    state: str = "planning"  # planning | running | succeeded | failed | stopped | error
    error: str = ""  # readable: why the run is in `error`
    error_status: int = 400  # 400: bad input (nothing moved); 500: the console's own fault
    plan: dict[str, Any] | None = None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # subgoal id -> {id, skill, args, state}
    edges: list[list[str]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)  # per step: t_s, confidence, anomaly
    view: View | None = None
    result: dict[str, Any] | None = None
    executor: Executor | None = None  # only while the worker runs
    gate: ApprovalGate | None = None
    estop_pressed: bool = False
    planned: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    _view_json: tuple[int, dict[str, Any]] | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def estop(self, reason: str = OPERATOR_ESTOP) -> None:
        """Brake this run's arm (if its executor exists yet) and make sure nothing more of it starts."""
        self.estop_pressed = True
        executor = self.executor
        if executor is not None:
            executor.controller.estop(reason)
        if self.gate is not None:
            self.gate.wake()

    def fail(self, message: str, status: int = 400) -> None:
        self.state, self.error, self.error_status = "error", message, status

    # --- what the worker reports -----------------------------------------------------------
    def set_plan(self, plan: Plan, scene: Scene) -> None:
        self.plan = plan_report(plan, scene)
        self.merge_plan(plan)

    def merge_plan(self, plan: Plan) -> None:
        """Add `plan`'s subgoals to the graph (a re-plan keeps the ids of the steps it repeats)."""
        for sg in plan.subgoals():
            self.nodes[sg.id] = {"id": sg.id, "skill": sg.skill, "args": dict(sg.args), "state": "pending"}
        for edge in plan.edges():
            if list(edge) not in self.edges:
                self.edges.append(list(edge))

    def on_event(self, event: ev.Event) -> None:
        self.events.append(event.to_json())
        node = self.nodes.get(event.subgoal_id or "")
        if node is not None and event.kind in _NODE_STATE:
            node["state"] = _NODE_STATE[event.kind]

    def finish(self, result: EpisodeResult, scene: Scene) -> None:
        for sub in result.subgoals:
            if sub.outcome == "skipped" and sub.id in self.nodes:
                self.nodes[sub.id]["state"] = "skipped"
        self.result = {
            "success": result.success, "outcome": result.outcome, "failure": result.failure,
            "sim_time_s": round(result.sim_time_s, 2), "wall_time_s": round(result.wall_time_s, 2),
            "replans": result.replans, "warnings": result.warnings,
            "subgoals": [r.to_json() for r in result.subgoals], "scene": scene_summary(scene),
        }
        self.state = result.outcome

    # --- what the page reads ---------------------------------------------------------------
    def to_json(self, since: int = 0, since_step: int = 0) -> dict[str, Any]:
        req = self.request
        return {
            "id": self.id, "state": self.state, "error": self.error, "instruction": req.instruction,
            "seed": req.seed, "approval": req.approval, "plan": self.plan,
            "graph": {"nodes": [dict(n) for n in list(self.nodes.values())], "edges": list(self.edges)},
            "events": self.events[since:], "n_events": len(self.events),
            "series": self.series[since_step:], "n_steps": len(self.series),
            "view_seq": self.view.seq if self.view is not None else None,
            "pending_approval": self.gate.pending() if self.gate is not None else None,
            "estop_pressed": self.estop_pressed, "result": self.result,
        }

    def view_json(self) -> dict[str, Any] | None:
        view = self.view
        if view is None:
            return None
        cached = self._view_json
        if cached is None or cached[0] != view.seq:
            cached = (view.seq, view.to_json())
            self._view_json = cached
        return cached[1]

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "instruction": self.request.instruction,
                "seed": self.request.seed, "approval": self.request.approval}


class _Tap:
    """The executor's step recorder: keeps the latest camera view and the confidence/anomaly series."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.policy: Any = None

    def write_step(self, obs, scene, chunk, commands, subgoal_id) -> None:
        anomaly = getattr(self.policy, "anomaly", None)
        anomaly = float(anomaly) if anomaly is not None and math.isfinite(anomaly) else None
        self.run.series.append({"step": len(self.run.series), "t_s": round(float(obs.t_s), 3),
                                "subgoal_id": subgoal_id, "confidence": round(float(chunk.confidence), 4),
                                "anomaly": anomaly})
        self.run.view = capture(self.run.view.seq + 1 if self.run.view else 0, obs, scene, subgoal_id)


class _PlanWatch:
    """The executor's planner, passed through, so a re-plan's new subgoals appear in the drawn graph."""

    def __init__(self, planner: Any, run: Run) -> None:
        self._planner = planner
        self._run = run

    def plan(self, instruction: str, scene: Scene) -> Plan:
        return self._planner.plan(instruction, scene)

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        plan = self._planner.replan(instruction, scene, done, failed)
        self._run.merge_plan(plan)
        return plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._planner, name)


def execute(run: Run, stack: StackConfig) -> None:
    """The worker: build, plan, run, release. Never raises; the outcome is in `run`."""
    world = executor = None
    try:
        world = build_world(run.request.seed, stack)
        tap = _Tap(run)
        executor = build_executor(world, stack, tap)
        tap.policy = executor.policy
        executor.planner = _PlanWatch(executor.planner, run)
        executor.approve = run.gate
        executor.events.subscribe(run.on_event)
        run.executor = executor
        if run.estop_pressed:  # pressed before the executor existed
            executor.controller.estop(OPERATOR_ESTOP)
        obs, scene = executor.observe()
        plan = executor.planner.plan(run.request.instruction, scene)
        run.set_plan(plan, scene)
        run.view = capture(0, obs, scene)
        run.state = "running"
        run.planned.set()
        if run.estop_pressed and not executor.controller.estopped:
            # Pressed, then reset, while this run was planning: a run the e-stop was pressed on never moves.
            executor.controller.estop(OPERATOR_ESTOP)
        result = executor.run_plan(plan)
        _, scene = executor.observe()
        run.finish(result, scene)
        run.on_event(ev.Event.now(ev.EPISODE_FINISHED, scene.observation.t_s,
                                  detail={"success": result.success, "outcome": result.outcome}))
    except HvlaError as exc:
        run.fail(str(exc))
    except Exception as exc:  # the page must show any failure; the console must stay usable
        log.error("console run %d failed", run.id, exc_info=exc)
        run.fail(f"internal error ({type(exc).__name__}: {exc}); the console is still usable", status=500)
    finally:
        run.executor = None
        executor = None
        if world is not None:
            world.close()
        world = None
        gc.collect()  # anything else holding GL state goes here, on the thread that made it
        if run.active:
            run.fail("the worker ended without a result", status=500)
        run.planned.set()
        run.finished.set()


def on_own_thread(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """`fn()` on a fresh thread (its GL contexts are made and released there); its result or its exception.

    Raises:
        BusyError: when it takes longer than `timeout_s` (it is left to finish on its own).
    """
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc
        finally:
            gc.collect()

    thread = threading.Thread(target=work, name=f"console-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise BusyError(f"{what} took longer than {timeout_s:g} s")
    if "error" in out:
        raise out["error"]
    return out["value"]


def plan_in_world(instruction: str, seed: int, stack: StackConfig) -> dict[str, Any]:
    """The plan report for `instruction` in a fresh kitchen of `seed`; the world is closed before returning."""
    world = build_world(seed, stack)
    try:
        executor = build_executor(world, stack)
        _, scene = executor.observe()
        assert executor.planner is not None
        return plan_report(executor.planner.plan(instruction, scene), scene)
    finally:
        world.close()


class RunStore:
    """The console's runs, newest last: one active at a time, at most `keep` kept."""

    def __init__(self, keep: int = KEEP_RUNS) -> None:
        self.keep = keep
        self._runs: OrderedDict[int, Run] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, request: RunRequest, stack: StackConfig, latch: EstopLatch) -> Run:
        """A new run on its own worker thread.

        Raises:
            ConflictError: while the e-stop is latched or another run is active.
        """
        with self._lock:
            latch.check_clear()
            live = self.live()
            if live is not None:
                raise ConflictError(f"run {live.id} is {live.state}: wait for it to end, or press the e-stop")
            run = Run(next(self._ids), request)
            if request.approval:
                run.gate = ApprovalGate(stopped=lambda: run.estop_pressed)
            self._runs[run.id] = run
            self._evict()
            threading.Thread(target=execute, args=(run, stack), name=f"console-run-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: int) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFoundError(f"no run {run_id} (the console keeps the last {self.keep})")
        return run

    def live(self) -> Run | None:
        return next((r for r in reversed(self._runs.values()) if r.active), None)

    def all(self) -> list[Run]:
        return list(self._runs.values())

    def _evict(self) -> None:
        for run_id in [r.id for r in self._runs.values() if not r.active][: max(0, len(self._runs) - self.keep)]:
            del self._runs[run_id]
