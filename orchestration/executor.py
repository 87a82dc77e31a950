"""The executor: walks a Plan, running each subgoal as a closed 10 Hz sense-act loop.

observe -> perception -> success check -> skill policy -> controllers, until the subgoal's
predicate holds, a monitor raises an alert or the timeout passes. On failure: retry once, then ask
the planner to re-plan from the current scene, then stop with a reason. Everything that happens
is an `Event`; an optional recorder stores every step. Perception and the policy run in line or beside the
controllers, and the loop can be paced to the wall clock with its deadlines counted (inference.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hvla.controllers.base import Controller
from hvla.core.errors import ConfigError, HvlaError, SimulationError, UnreachableError
from hvla.core.messages import ActionChunk, Observation, Plan, Scene, Subgoal
from hvla.core.robot import JointCommand, Robot
from hvla.orchestration import events as ev
from hvla.orchestration.inference import INFERENCE_MODES, Deadlines, Inference, SenseAct, align, last_waypoint
from hvla.orchestration.monitors import Monitor, StepInfo, default_monitors
from hvla.perception.base import Perception
from hvla.planner.base import Planner
from hvla.skills.base import SkillPolicy, skill_timeout_s


@dataclass(frozen=True)
class ExecutorConfig:
    loop_hz: float = 10.0
    retries: int = 1  # attempts after the first, per subgoal
    replans: int = 1  # times the planner may be asked to re-plan per episode
    log_cameras: tuple[str, ...] = ()  # extra views rendered every step for logs and video
    episode_timeout_s: float | None = None  # robot-clock budget of a whole episode, retries and re-plans included
    inference: str = "sync"  # "async": perceive and act for the next chunk while the controllers run this one
    realtime: bool = False  # pace the loop to the wall clock and count missed deadlines (inference.py)

    def __post_init__(self) -> None:
        if self.inference not in INFERENCE_MODES:
            raise ConfigError(f"inference '{self.inference}' unknown; use one of {INFERENCE_MODES}")
        if not self.loop_hz > 0:
            raise ConfigError(f"loop_hz={self.loop_hz} must be > 0")


@dataclass
class SubgoalResult:
    id: str
    skill: str
    args: dict[str, str]
    outcome: str = "pending"  # succeeded | failed | skipped | stopped (e-stop or the operator declined it)
    duration_s: float = 0.0  # simulated time across attempts
    attempts: int = 0
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "skill": self.skill, "args": self.args, "outcome": self.outcome,
            "duration_s": round(self.duration_s, 3), "attempts": self.attempts, "reason": self.reason,
        }


@dataclass
class EpisodeResult:
    success: bool
    plan: Plan
    subgoals: list[SubgoalResult]
    failure: str | None
    sim_time_s: float
    wall_time_s: float
    replans: int = 0
    log_dir: str | None = None
    warnings: list[str] = field(default_factory=list)  # monitors that warned without aborting
    stopped: bool = False  # ended by the e-stop or the operator: no retry, no re-plan
    deadlines: dict[str, float] | None = None  # real-time mode: ticks, missed deadlines, worst lateness

    @property
    def outcome(self) -> str:
        return "succeeded" if self.success else "stopped" if self.stopped else "failed"


class StepRecorder(Protocol):
    """Where each step goes (an episode log, a dataset writer)."""

    def write_step(
        self, obs: Observation, scene: Scene, chunk: ActionChunk, commands: Sequence[JointCommand],
        subgoal_id: str,
    ) -> None: ...


class RecordingRobot:
    """Passes commands through to a robot and keeps the ones issued since the last `drain`."""

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.control_dt_s = robot.control_dt_s
        self.limits = robot.limits
        self._commands: list[JointCommand] = []
        self.moved = False  # any command sent since construction

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        return self.robot.observe(cameras)

    def command(self, cmd: JointCommand) -> None:
        self._commands.append(cmd)
        self.moved = True
        self.robot.command(cmd)

    def drain(self) -> list[JointCommand]:
        out, self._commands = self._commands, []
        return out


@dataclass
class _Attempt:
    ok: bool
    reason: str | None
    duration_s: float
    stopped: bool = False  # the e-stop is latched or the operator declined: nothing more may run


Approver = Callable[[Subgoal], bool]
"""Asked before each subgoal starts (the chapter's human oversight); False stops the episode."""

SuccessCheck = Callable[[Subgoal, Scene], bool]
"""Whether a subgoal holds: the world's own check (`World.succeeded`) unless the subgoal brings its own."""


@dataclass
class Executor:
    robot: Robot
    perception: Perception
    policy: SkillPolicy
    controller: Controller
    planner: Planner | None = None
    config: ExecutorConfig = field(default_factory=ExecutorConfig)
    monitors: list[Monitor] = field(default_factory=default_monitors)
    events: ev.EventLog = field(default_factory=ev.EventLog)
    recorder: StepRecorder | None = None
    approve: Approver | None = None  # step-approval mode: the operator confirms every subgoal
    success: SuccessCheck | None = None  # None: the robot's own `succeeded` (every `World` has one)

    def __post_init__(self) -> None:
        self._robot = RecordingRobot(self.robot)
        self._succeeded = self.success or getattr(self.robot, "succeeded", None)
        if self._succeeded is None:
            raise ConfigError(f"{type(self.robot).__name__} has no success check: pass success= (a World has one)")
        # A policy that reads pixels itself (the end-to-end network) names its views in `cameras`.
        policy_cameras = getattr(self.policy, "cameras", ())
        self._cameras = tuple(dict.fromkeys((*self.perception.cameras, *policy_cameras, *self.config.log_cameras)))
        self._warnings: list[str] = []
        self._t_last_s = 0.0  # the robot's clock when last read
        self._deadline_s = float("inf")  # the robot-clock time the episode's budget runs out
        self._sense = SenseAct(self.perception, self.policy, asynchronous=self.config.inference == "async")
        self._deadlines: Deadlines | None = None

    # --- entry points ----------------------------------------------------------------------
    def observe(self) -> tuple[Observation, Scene]:
        obs = self._robot.observe(self._cameras)
        self._t_last_s = obs.t_s
        return obs, self.perception.perceive(obs)

    def run_instruction(self, instruction: str) -> EpisodeResult:
        """Plan `instruction` against the current scene, then execute it."""
        if self.planner is None:
            raise HvlaError("run_instruction needs a planner")
        _, scene = self.observe()
        plan = self.planner.plan(instruction, scene)
        return self.run_plan(plan)

    def run_plan(self, plan: Plan) -> EpisodeResult:
        wall0 = time.time()
        self._warnings = []
        self._deadlines = Deadlines(1.0 / self.config.loop_hz) if self.config.realtime else None
        t0 = self._robot_time()
        budget = self.config.episode_timeout_s
        self._deadline_s = t0 + budget if budget is not None else float("inf")
        self._emit(ev.PLAN_CREATED, t0, detail={"subgoals": len(plan.graph), "instruction": plan.instruction})
        results: list[SubgoalResult] = []
        replans = 0
        failure: str | None = None
        stopped = False
        queue = plan.subgoals()
        while queue:
            subgoal = queue.pop(0)
            result = self._run_with_retries(subgoal)
            results.append(result)
            if result.outcome == "succeeded":
                continue
            verb = "stopped" if result.outcome == "stopped" else "failed"
            failure = f"subgoal {subgoal.id} {subgoal.describe()} {verb}: {result.reason}"
            stopped = result.outcome == "stopped"
            if stopped or self.planner is None or replans >= self.config.replans or self._out_of_time():
                break
            replans += 1
            new_plan = self._replan(plan, results, subgoal)
            if new_plan is None:
                break
            plan, queue, failure = new_plan, new_plan.subgoals(), None
        for sg in queue:
            results.append(SubgoalResult(sg.id, sg.skill, dict(sg.args), "skipped"))
        self._come_to_rest()
        self.perception.reset()
        obs = self._robot.observe(())
        success = failure is None
        return EpisodeResult(success, plan, results, failure, obs.t_s - t0, time.time() - wall0, replans,
                             warnings=list(self._warnings), stopped=stopped,
                             deadlines=self._deadlines.summary() if self._deadlines is not None else None)

    # --- subgoals --------------------------------------------------------------------------
    def _run_with_retries(self, subgoal: Subgoal) -> SubgoalResult:
        result = SubgoalResult(subgoal.id, subgoal.skill, dict(subgoal.args))
        for attempt in range(1 + self.config.retries):
            if attempt:
                self._emit(ev.RETRY, None, subgoal.id, {"attempt": attempt + 1})
            result.attempts += 1
            outcome = self.run_subgoal(subgoal)
            result.duration_s += outcome.duration_s
            if outcome.ok:
                result.outcome, result.reason = "succeeded", None
                return result
            result.outcome, result.reason = ("stopped" if outcome.stopped else "failed"), outcome.reason
            if outcome.stopped or self._out_of_time():
                break
        return result

    def _stop_reason(self, subgoal: Subgoal) -> str | None:
        """Why `subgoal` must not start: a latched e-stop, or the operator declining it (None: it may)."""
        if self.controller.estopped:
            return "e-stop engaged (latched until the operator resets it)"
        if self.approve is not None:
            self._emit(ev.APPROVAL_REQUESTED, None, subgoal.id, {"skill": subgoal.skill, **subgoal.args})
            if not self.approve(subgoal):
                return "declined by the operator"
            if self.controller.estopped:  # pressed while the operator was deciding
                return "e-stop engaged (latched until the operator resets it)"
        return None

    def run_subgoal(self, subgoal: Subgoal) -> _Attempt:
        """One attempt: the closed loop until success, a monitor alert or the timeout."""
        try:
            obs, scene = self.observe()
        except HvlaError as exc:
            t = self._robot_time()
            return self._sensor_failure(subgoal, t, t, exc)
        t0 = obs.t_s
        refused = self._stop_reason(subgoal)
        if refused is not None:
            return self._fail(subgoal, t0, t0, refused, stopped=True)
        self._emit(ev.SUBGOAL_STARTED, t0, subgoal.id, {"skill": subgoal.skill, **subgoal.args})
        try:
            self.policy.reset(scene, subgoal)
        except HvlaError as exc:
            return self._fail(subgoal, t0, t0, str(exc))
        for monitor in self.monitors:
            monitor.reset(subgoal)
        timeout_s = skill_timeout_s(subgoal.skill, subgoal.timeout_s)
        if self._deadline_s - t0 < timeout_s:  # the episode's budget ends first
            timeout_s = max(self._deadline_s - t0, 0.0)
            budget_note = f" (the episode's budget of {self.config.episode_timeout_s:g} s)"
        else:
            budget_note = ""
        if self._deadlines is not None:
            self._deadlines.start(t0)  # a subgoal's set-up (planning, reset) is not a tick
        try:
            return self._closed_loop(subgoal, t0, timeout_s, budget_note, obs, scene)
        finally:
            self._sense.drain()  # nothing may be left computing on the perception or the policy

    def _closed_loop(self, subgoal: Subgoal, t0: float, timeout_s: float, budget_note: str,
                     obs: Observation, scene: Scene) -> _Attempt:
        """Tick at the loop rate until the predicate holds, a monitor alerts or the time is up. In async mode
        the controllers run the newest chunk, aligned by its age, while the next one is computed."""
        period_s = 1.0 / self.config.loop_hz
        asynchronous = self.config.inference == "async"
        current: Inference | None = None
        while obs.t_s - t0 < timeout_s:
            try:
                done = bool(subgoal.success(scene)) if subgoal.success else self._succeeded(subgoal, scene)
            except Exception as exc:  # a user predicate must fail its subgoal, not the episode
                return self._fail(subgoal, t0, obs.t_s, f"success predicate raised {type(exc).__name__}: {exc}")
            if done:
                self._emit(ev.PREDICATE_MET, obs.t_s, subgoal.id)
                self._emit(ev.SUBGOAL_SUCCEEDED, obs.t_s, subgoal.id, {"duration_s": obs.t_s - t0})
                return _Attempt(True, None, obs.t_s - t0)
            try:
                if current is None:  # every tick in sync mode; the first in async mode
                    current = self._sense.act(obs, scene)
                chunk = align(current.chunk, obs.t_s - current.t_obs_s)
                if chunk is None and self._sense.busy:  # async: the newest chunk is used up; wait for the next
                    current = self._sense.collect()
                    scene = current.scene
                    chunk = align(current.chunk, obs.t_s - current.t_obs_s)
                if chunk is None:  # even the newest is older than its horizon: hold its last target
                    chunk = last_waypoint(current.chunk)
                if asynchronous and not self._sense.busy and obs.t_s > current.t_obs_s:
                    self._sense.submit(obs)  # the next chunk, from this tick's observation, while this one runs
                self._emit(ev.CHUNK_ISSUED, obs.t_s, subgoal.id, {"k": len(chunk), "confidence": chunk.confidence})
                follow = self.controller.follow(chunk, self._robot, period_s)
            except SimulationError as exc:  # the world itself is broken: nothing it reports can be trusted
                self.controller.estop(f"physics failure: {exc}")
                return self._fail(subgoal, t0, obs.t_s, str(exc), stopped=True)
            except UnreachableError as exc:
                return self._fail(subgoal, t0, obs.t_s, str(exc), stopped=self.controller.estopped)
            except HvlaError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                return self._fail(subgoal, t0, obs.t_s, reason, stopped=self.controller.estopped)
            if follow.refusals:
                self._emit(ev.SAFETY_REFUSAL, obs.t_s, subgoal.id, {"refusals": follow.refusals})
            if follow.estopped:  # the arm has braked to rest and holds; only the operator may release it
                self._robot.drain()
                self._emit(ev.ESTOP, obs.t_s, subgoal.id, {"reason": self.controller.estop_reason})
                return self._fail(subgoal, t0, obs.t_s, f"e-stop engaged: {self.controller.estop_reason}",
                                  stopped=True)
            if self.recorder is not None:
                self.recorder.write_step(obs, scene, chunk, self._robot.drain(), subgoal.id)
            else:
                self._robot.drain()
            try:
                if asynchronous:
                    obs = self._robot.observe(self._cameras)
                    self._t_last_s = obs.t_s
                else:
                    obs, scene = self.observe()
                    current = None
            except HvlaError as exc:
                return self._sensor_failure(subgoal, t0, obs.t_s, exc)
            if asynchronous and self._sense.busy:
                # Real time: the chunk for the coming period is due when the period begins, no later.
                if self._deadlines is not None and not self._sense.ready(self._deadlines.until(obs.t_s)):
                    self._deadlines.chunk_late()  # go on with the rest of the chunk in hand
                    self._emit(ev.DEADLINE_MISSED, obs.t_s, subgoal.id, {"what": "chunk not ready"})
                else:
                    try:
                        current = self._sense.collect()
                    except HvlaError as exc:
                        return self._sensor_failure(subgoal, t0, obs.t_s, exc)
                    scene = current.scene
            if self._deadlines is not None:
                late = self._deadlines.tick_done(obs.t_s)
                if late is not None:
                    self._emit(ev.DEADLINE_MISSED, obs.t_s, subgoal.id, {"what": "tick", "late_ms": 1e3 * late})
            step = StepInfo(obs.t_s, subgoal, scene, obs.proprio, follow, chunk.confidence,
                            getattr(self.policy, "anomaly", None))
            for monitor in self.monitors:
                alert = monitor.check(step)
                if alert is not None and not getattr(monitor, "aborts", True):
                    self._emit(ev.MONITOR_WARNING, obs.t_s, subgoal.id, {"warning": alert})
                    self._warnings.append(f"t={obs.t_s:.1f}s {subgoal.id} {subgoal.describe()}: {alert}")
                elif alert is not None:
                    self._emit(ev.MONITOR_ALERT, obs.t_s, subgoal.id, {"alert": alert})
                    self.controller.hold(self._robot, 0.3)
                    self._robot.drain()
                    return self._fail(subgoal, t0, obs.t_s, alert)
        return self._fail(subgoal, t0, obs.t_s, f"timeout after {timeout_s:g} s{budget_note}")

    def _out_of_time(self) -> bool:
        return self._robot_time() >= self._deadline_s

    def _come_to_rest(self) -> None:
        """End the episode with the arm at rest: a receding-horizon chunk leaves it moving toward its next
        waypoint, and a motion must end with zero velocity (the FCI refuses to end one otherwise). These
        last commands are not steps of the episode: no recorder sees them."""
        if not self._robot.moved:
            return
        with contextlib.suppress(HvlaError):  # a latched e-stop has already brought it to rest
            self.controller.hold(self._robot, self._robot.control_dt_s)
        self._robot.drain()

    def _sensor_failure(self, subgoal: Subgoal, t0: float, t: float, exc: HvlaError) -> _Attempt:
        """Sensing or perception raised: the arm must not go on with the last chunk.

        A broken robot state (proprioception unreadable) engages the e-stop, which brakes the command
        stream from its own last state; a bad camera frame or object pose is a safe hold and a failed
        attempt (a retry may see a good frame).
        """
        try:
            self._robot.observe(())
        except HvlaError:
            self.controller.estop(f"robot state unreadable: {exc}")
        with contextlib.suppress(HvlaError):  # then the e-stop is latched: nothing moves until a reset
            self.controller.hold(self._robot, 0.3)
        self._robot.drain()
        reason = f"sensor failure ({type(exc).__name__}): {exc}"
        return self._fail(subgoal, t0, t, reason, stopped=self.controller.estopped)

    def _robot_time(self) -> float:
        """The robot's clock, or the last time it was read when the robot cannot be read."""
        with contextlib.suppress(HvlaError):
            self._t_last_s = self._robot.observe(()).t_s
        return self._t_last_s

    def _fail(self, subgoal: Subgoal, t0: float, t: float, reason: str, stopped: bool = False) -> _Attempt:
        self._emit(ev.SUBGOAL_STOPPED if stopped else ev.SUBGOAL_FAILED, t, subgoal.id, {"reason": reason})
        return _Attempt(False, reason, t - t0, stopped)

    def _replan(self, plan: Plan, results: list[SubgoalResult], failed: Subgoal) -> Plan | None:
        try:
            _, scene = self.observe()
        except HvlaError as exc:  # no scene to plan against: the episode ends with the failure it had
            self._emit(ev.REPLAN, None, failed.id, {"error": f"could not observe the scene: {exc}"})
            return None
        done = [plan.graph.nodes[r.id]["subgoal"] for r in results if r.outcome == "succeeded" and r.id in plan.graph]
        assert self.planner is not None
        try:
            new_plan = self.planner.replan(plan.instruction, scene, done, failed)
        except HvlaError as exc:
            self._emit(ev.REPLAN, scene.observation.t_s, failed.id, {"error": str(exc)})
            return None
        self._emit(ev.REPLAN, scene.observation.t_s, failed.id, {"subgoals": len(new_plan.graph)})
        return new_plan if len(new_plan.graph) else None

    def _emit(self, kind: str, t_s: float | None, subgoal_id: str | None = None, detail: Any = "") -> None:
        if t_s is None:
            t_s = self._robot_time()
        self.events.append(ev.Event(t_s=float(t_s), wall_s=time.time(), kind=kind, subgoal_id=subgoal_id,
                                    detail=detail))
