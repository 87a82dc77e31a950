"""The executor's control flow on small fakes (no simulator): success, retry, re-plan, stop, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from hvla.controllers.base import FollowResult
from hvla.core.errors import GroundingError, HvlaError, MessageError, UnreachableError
from hvla.core.messages import ActionChunk, ObjectToken, Observation, Plan, Proprio, Scene, Subgoal
from hvla.core.robot import JointCommand, JointLimits
from hvla.orchestration import events as ev
from hvla.orchestration.executor import Executor, ExecutorConfig
from hvla.orchestration.monitors import SafetyRefusalMonitor, StepInfo


# --- fakes ------------------------------------------------------------------------------------------
class FakeRobot:
    """One command = one 0.1 s control period; the hand creeps along x so a stall monitor stays quiet."""

    control_dt_s = 0.1
    limits = JointLimits.panda()

    def __init__(self) -> None:
        self.t_s = 0.0
        self.commands: list[JointCommand] = []

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        T = np.eye(4)
        T[:3, 3] = [0.4 + 0.01 * len(self.commands), 0.0, 0.3]
        return Observation(self.t_s, Proprio(np.zeros(7), np.zeros(7), 0.04, T))

    def command(self, cmd: JointCommand) -> None:
        self.commands.append(cmd)
        self.t_s = round(self.t_s + self.control_dt_s, 9)

    cameras: tuple[str, ...] = ()

    def succeeded(self, subgoal: Subgoal, scene: Scene) -> bool:
        """A world that judges nothing itself: only the subgoals' own predicates decide."""
        return False

    def close(self) -> None:
        """Nothing to release."""


class FakePerception:
    cameras: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def perceive(self, obs: Observation) -> Scene:
        banana = ObjectToken(1, "banana", 1.0, [0.5, 0.1, 0.02], [0.15, 0.04, 0.04], "yellow", [1, 1, 0], name="banana")
        return Scene((banana,), obs)


class FakePolicy:
    def __init__(self, reset_error: HvlaError | None = None) -> None:
        self.reset_error = reset_error
        self.started: list[str] = []

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.started.append(subgoal.id)
        if self.reset_error is not None:
            raise self.reset_error

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        target = np.r_[proprio.ee_position_m, 0.0, 1.0, 0.0, 0.0]
        return ActionChunk(np.tile(target, (3, 1)), np.full(3, 0.08), confidence=0.9)


@dataclass
class FakeController:
    refusals: int = 0
    error: HvlaError | None = None
    holds: int = 0
    estop_after: int | None = None  # follow calls before the e-stop engages (an operator pressing it)
    follows: int = 0
    estop_reason: str = ""

    def follow(self, chunk: ActionChunk, robot, duration_s: float | None = None) -> FollowResult:
        if self.error is not None:
            raise self.error
        self.follows += 1
        if self.estop_after is not None and self.follows > self.estop_after:
            self.estop("operator pressed e-stop")
        robot.command(JointCommand(np.zeros(7), np.zeros(7), float(chunk.gripper_m[0])))
        return FollowResult(steps=1, reached=not self.estopped, refusals=self.refusals, estopped=self.estopped)

    def hold(self, robot, duration_s: float) -> FollowResult:
        self.holds += 1
        return FollowResult(steps=0, reached=True)

    def estop(self, reason: str = "software e-stop") -> None:
        self.estop_reason = self.estop_reason or reason

    def reset_estop(self) -> None:
        self.estop_reason = ""

    @property
    def estopped(self) -> bool:
        return bool(self.estop_reason)


@dataclass
class FakePlanner:
    """Returns `replanned` (or raises it) when asked to re-plan; records each call."""

    replanned: Plan | HvlaError
    calls: list[tuple[str, list[str], str | None]] = field(default_factory=list)

    def plan(self, instruction: str, scene: Scene) -> Plan:
        raise AssertionError("these tests hand the executor a plan")

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        self.calls.append((instruction, [sg.id for sg in done], failed.id if failed else None))
        if isinstance(self.replanned, HvlaError):
            raise self.replanned
        return self.replanned


@dataclass
class AlertAfter:
    """A monitor that raises `alert` at the `n`-th step of an attempt."""

    n: int
    alert: str = "fake alert"
    steps: int = 0

    def reset(self, subgoal: Subgoal) -> None:
        self.steps = 0

    def check(self, step: StepInfo) -> str | None:
        self.steps += 1
        return self.alert if self.steps >= self.n else None


def after(t_s: float):
    """A success predicate that holds once the robot's clock has passed `t_s` (absolute)."""
    return lambda scene: scene.observation.t_s >= t_s - 1e-9


def never(scene: Scene) -> bool:
    return False


def executor(**kwargs) -> Executor:
    parts = {"robot": FakeRobot(), "perception": FakePerception(), "policy": FakePolicy(),
             "controller": FakeController(), "monitors": []}
    return Executor(**{**parts, **kwargs})


# --- success and events ------------------------------------------------------------------------
def test_plan_runs_in_order_and_emits_timestamped_events_in_order():
    ex = executor()
    plan = Plan.sequence([Subgoal("a", "pick", {"object": "banana"}, success=after(0.3)),
                          Subgoal("b", "wave", success=after(0.5))], instruction="pick, then wave")
    result = ex.run_plan(plan)

    assert result.success and result.failure is None and result.replans == 0
    assert [(r.id, r.outcome, r.attempts) for r in result.subgoals] == [("a", "succeeded", 1), ("b", "succeeded", 1)]
    assert result.subgoals[0].duration_s == pytest.approx(0.3)
    assert result.sim_time_s == pytest.approx(0.5)
    kinds = [e.kind for e in ex.events]
    assert kinds == [ev.PLAN_CREATED,
                     ev.SUBGOAL_STARTED, *[ev.CHUNK_ISSUED] * 3, ev.PREDICATE_MET, ev.SUBGOAL_SUCCEEDED,
                     ev.SUBGOAL_STARTED, *[ev.CHUNK_ISSUED] * 2, ev.PREDICATE_MET, ev.SUBGOAL_SUCCEEDED]
    t_sim = [e.t_s for e in ex.events]
    t_wall = [e.wall_s for e in ex.events]
    assert t_sim == sorted(t_sim) and t_wall == sorted(t_wall)
    assert [e.t_s for e in ex.events.of_kind(ev.CHUNK_ISSUED)][:3] == pytest.approx([0.0, 0.1, 0.2])
    assert {e.subgoal_id for e in ex.events.of_kind(ev.CHUNK_ISSUED)} == {"a", "b"}
    assert ex.events.of_kind(ev.SUBGOAL_STARTED)[0].detail == {"skill": "pick", "object": "banana"}


def test_an_already_true_predicate_finishes_the_subgoal_without_moving():
    ex = executor()
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=lambda scene: True)]))
    assert result.success and ex.robot.commands == []
    assert not ex.events.of_kind(ev.CHUNK_ISSUED)


def test_recorder_gets_each_step_with_the_commands_sent_during_it():
    steps = []

    class Recorder:
        def write_step(self, obs, scene, chunk, commands, subgoal_id):
            steps.append((obs.t_s, len(commands), subgoal_id))

    ex = executor(recorder=Recorder())
    ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=after(0.3))]))
    assert steps == [(0.0, 1, "a"), (0.1, 1, "a"), (0.2, 1, "a")]


# --- failure: retry once, then re-plan, then stop with a reason ---------------------------------
def test_the_episode_budget_ends_retries_and_replans_on_the_robots_clock():
    """A benchmark's step cap (LIBERO: 280 steps of 50 ms) as `episode_timeout_s`: no attempt outlives it."""
    planner = FakePlanner(Plan.sequence([Subgoal("r0", "pick", success=never, timeout_s=1.0)]))
    ex = executor(planner=planner, config=ExecutorConfig(retries=3, replans=2, episode_timeout_s=1.5))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=1.0)]))
    (a,) = result.subgoals
    assert not result.success and result.replans == 0
    assert a.attempts == 2 and a.duration_s == pytest.approx(1.5)
    assert a.reason == "timeout after 0.5 s (the episode's budget of 1.5 s)"
    assert result.sim_time_s == pytest.approx(1.5, abs=0.11)


def test_a_subgoal_that_never_succeeds_is_retried_once_then_fails_with_a_timeout():
    ex = executor()
    plan = Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=1.0), Subgoal("b", "wave")])
    result = ex.run_plan(plan)

    assert not result.success
    a, b = result.subgoals
    assert (a.outcome, a.attempts) == ("failed", 2)
    assert a.reason == "timeout after 1 s"
    assert a.duration_s == pytest.approx(2.0)
    assert (b.outcome, b.attempts) == ("skipped", 0)
    assert result.failure == "subgoal a pick() failed: timeout after 1 s"
    flow = [e.kind for e in ex.events if e.kind != ev.CHUNK_ISSUED]
    assert flow == [ev.PLAN_CREATED, ev.SUBGOAL_STARTED, ev.SUBGOAL_FAILED, ev.RETRY, ev.SUBGOAL_STARTED,
                    ev.SUBGOAL_FAILED]
    assert ex.events.of_kind(ev.RETRY)[0].detail == {"attempt": 2}
    assert ex.policy.started == ["a", "a"]  # the policy starts afresh for the retry


def test_a_failed_subgoal_is_replanned_from_the_current_scene_and_the_new_plan_runs():
    replanned = Plan.sequence([Subgoal("r0", "pick", success=after(2.3))], instruction="again")
    planner = FakePlanner(replanned)
    ex = executor(planner=planner)
    plan = Plan.sequence([Subgoal("a", "pick", success=after(0.1)),
                          Subgoal("b", "place", success=never, timeout_s=1.0),
                          Subgoal("c", "wave", success=never)], instruction="pick, place, wave")
    result = ex.run_plan(plan)

    assert result.success and result.failure is None and result.replans == 1
    assert planner.calls == [("pick, place, wave", ["a"], "b")]
    assert [(r.id, r.outcome) for r in result.subgoals] == [("a", "succeeded"), ("b", "failed"), ("r0", "succeeded")]
    assert result.plan is replanned
    flow = [e.kind for e in ex.events if e.kind not in (ev.CHUNK_ISSUED, ev.PREDICATE_MET)]
    assert flow.index(ev.REPLAN) == flow.index(ev.SUBGOAL_FAILED, flow.index(ev.RETRY)) + 1
    assert ex.events.of_kind(ev.REPLAN)[0].detail == {"subgoals": 1}


def test_replanning_stops_after_the_configured_number_of_replans():
    planner = FakePlanner(Plan.sequence([Subgoal("r0", "pick", success=never, timeout_s=0.5)]))
    ex = executor(planner=planner, config=ExecutorConfig(retries=0, replans=1))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=0.5)]))
    assert not result.success and result.replans == 1 and len(planner.calls) == 1
    assert result.failure.startswith("subgoal r0 pick() failed: timeout")


def test_a_planner_that_cannot_replan_leaves_the_original_failure():
    ex = executor(planner=FakePlanner(GroundingError("the banana is gone")), config=ExecutorConfig(retries=0))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=0.5)]))
    assert not result.success and result.failure.startswith("subgoal a pick() failed")
    assert ex.events.of_kind(ev.REPLAN)[0].detail == {"error": "the banana is gone"}


def test_without_a_planner_the_episode_stops_after_the_retry():
    ex = executor(config=ExecutorConfig(retries=1))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=0.5)]))
    assert not result.success and result.replans == 0 and result.subgoals[0].attempts == 2
    with pytest.raises(HvlaError, match="needs a planner"):
        ex.run_instruction("pick up the banana")


# --- what ends an attempt early --------------------------------------------------------------
def test_a_policy_that_refuses_the_subgoal_fails_the_attempt_with_its_message():
    ex = executor(policy=FakePolicy(reset_error=MessageError("no scripted expert for skill 'juggle'")))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "juggle")]))
    assert result.subgoals[0].attempts == 2
    assert result.subgoals[0].reason == "no scripted expert for skill 'juggle'"
    assert ex.robot.commands == []


def test_an_unreachable_chunk_fails_the_attempt_naming_the_target():
    ex = executor(controller=FakeController(error=UnreachableError([2.0, 0, 0.3, 0, 1, 0, 0], 0.9)))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never)]))
    assert not result.success and "unreachable" in result.subgoals[0].reason
    assert len(ex.events.of_kind(ev.CHUNK_ISSUED)) == 2  # one per attempt, then the controller raised


def test_a_monitor_alert_aborts_the_attempt_holds_the_arm_and_becomes_the_reason():
    controller = FakeController()
    ex = executor(controller=controller, monitors=[AlertAfter(3, "stalled: fake")], config=ExecutorConfig(retries=0))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=10.0)]))
    assert result.subgoals[0].reason == "stalled: fake"
    assert result.subgoals[0].duration_s == pytest.approx(0.3)
    assert controller.holds == 2  # the alert's hold, then the episode ends with the arm at rest
    alerts = ex.events.of_kind(ev.MONITOR_ALERT)
    assert len(alerts) == 1 and alerts[0].detail == {"alert": "stalled: fake"}


def test_a_warning_monitor_is_logged_and_the_attempt_goes_on():
    warn = AlertAfter(2, "out of distribution: fake")
    warn.aborts = False
    ex = executor(monitors=[warn], config=ExecutorConfig(retries=0))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=after(0.5))]))
    assert result.success and result.subgoals[0].outcome == "succeeded"
    warnings = ex.events.of_kind(ev.MONITOR_WARNING)
    assert len(warnings) >= 1 and warnings[0].detail == {"warning": "out of distribution: fake"}
    assert not ex.events.of_kind(ev.MONITOR_ALERT)
    assert len(result.warnings) == len(warnings) and "a pick()" in result.warnings[0]


def test_safety_refusals_are_events_and_too_many_end_the_attempt():
    ex = executor(controller=FakeController(refusals=40), monitors=[SafetyRefusalMonitor(max_refusals=100)],
                  config=ExecutorConfig(retries=0))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=10.0)]))
    assert result.subgoals[0].reason == "safety layer refused 120 commands (unknown)"
    refusals = ex.events.of_kind(ev.SAFETY_REFUSAL)
    assert [e.detail["refusals"] for e in refusals] == [40, 40, 40]


# --- the e-stop and the operator: stopped, never retried or re-planned ----------------------------
def test_an_estop_ends_the_episode_as_stopped_without_retry_or_replan():
    planner = FakePlanner(Plan.sequence([Subgoal("c", "wave")]))
    ex = executor(controller=FakeController(estop_after=2), planner=planner)
    plan = Plan.sequence([Subgoal("a", "pick", success=never, timeout_s=1.0), Subgoal("b", "wave")])
    result = ex.run_plan(plan)

    assert not result.success and result.stopped and result.outcome == "stopped"
    assert [(r.id, r.outcome, r.attempts) for r in result.subgoals] == [("a", "stopped", 1), ("b", "skipped", 0)]
    assert "e-stop" in result.failure and "operator pressed e-stop" in result.failure
    assert planner.calls == [] and not ex.events.of_kind(ev.RETRY)
    assert len(ex.events.of_kind(ev.SUBGOAL_STARTED)) == 1
    assert [e.kind for e in ex.events][-2:] == [ev.ESTOP, ev.SUBGOAL_STOPPED]


def test_a_latched_estop_refuses_the_next_episode_until_reset():
    ex = executor(controller=FakeController())
    ex.controller.estop("pressed before the run")
    plan = Plan.sequence([Subgoal("a", "pick", success=after(0.2))])
    result = ex.run_plan(plan)
    assert result.stopped and ex.robot.commands == [] and not ex.events.of_kind(ev.SUBGOAL_STARTED)
    ex.controller.reset_estop()
    assert ex.run_plan(plan).success


def test_step_approval_asks_before_each_subgoal_and_a_refusal_stops_the_episode():
    asked = []
    ex = executor(approve=lambda sg: asked.append(sg.id) or sg.id == "a")
    plan = Plan.sequence([Subgoal("a", "pick", success=after(0.2)), Subgoal("b", "wave", success=after(0.4))])
    result = ex.run_plan(plan)
    assert asked == ["a", "b"]
    assert [(r.id, r.outcome) for r in result.subgoals] == [("a", "succeeded"), ("b", "stopped")]
    assert result.stopped and "declined by the operator" in result.failure
    assert len(ex.events.of_kind(ev.APPROVAL_REQUESTED)) == 2
