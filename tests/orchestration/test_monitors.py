"""Runtime monitors on hand-made steps: each names what went wrong, and only then."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.controllers.base import FollowResult
from hvla.controllers.safety import SafetyEvent
from hvla.core.messages import ObjectToken, Observation, Proprio, Scene, Subgoal
from hvla.orchestration.monitors import (
    AnomalyMonitor,
    LostObjectMonitor,
    SafetyRefusalMonitor,
    StallMonitor,
    StepInfo,
    default_monitors,
)

PICK = Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"})


def token(name: str) -> ObjectToken:
    return ObjectToken(1, name, 1.0, [0.5, 0.0, 0.02], [0.05, 0.05, 0.05], "yellow", [1, 1, 0], name=name)


def step(
    t_s: float,
    hand_x_m: float = 0.4,
    gripper_m: float = 0.08,
    objects: tuple[str, ...] = ("banana", "bowl"),
    follow: FollowResult | None = None,
    subgoal: Subgoal = PICK,
    anomaly: float | None = None,
) -> StepInfo:
    T = np.eye(4)
    T[:3, 3] = [hand_x_m, 0.0, 0.3]
    proprio = Proprio(np.zeros(7), np.zeros(7), gripper_m, T)
    scene = Scene(tuple(token(n) for n in objects), Observation(t_s, proprio))
    return StepInfo(t_s, subgoal, scene, proprio, follow or FollowResult(steps=50, reached=True), anomaly=anomaly)


def run(monitor, steps: list[StepInfo]) -> list[str | None]:
    monitor.reset(steps[0].subgoal)
    return [monitor.check(s) for s in steps]


def ticks(duration_s: float, dt_s: float = 0.1) -> np.ndarray:
    return np.round(np.arange(0.0, duration_s + 1e-9, dt_s), 6)


# --- stall -----------------------------------------------------------------------------------------
def test_stall_alerts_once_the_hand_has_not_moved_for_the_window():
    alerts = run(StallMonitor(window_s=2.0), [step(t) for t in ticks(3.0)])
    first = next(i for i, a in enumerate(alerts) if a)
    assert 1.9 <= ticks(3.0)[first] <= 2.1
    assert alerts[first].startswith("stalled: the hand moved 0.0 mm in 2 s")
    assert not any(alerts[:first])


def test_stall_stays_quiet_while_the_hand_or_the_gripper_moves():
    moving_hand = [step(t, hand_x_m=0.4 + 0.01 * t) for t in ticks(5.0)]
    closing = [step(t, gripper_m=0.08 - 0.01 * t) for t in ticks(5.0)]
    assert not any(run(StallMonitor(window_s=2.0), moving_hand))
    assert not any(run(StallMonitor(window_s=2.0), closing))


def test_stall_forgets_the_previous_attempt_on_reset():
    monitor = StallMonitor(window_s=2.0)
    assert any(run(monitor, [step(t) for t in ticks(3.0)]))
    assert not any(run(monitor, [step(10.0 + t) for t in ticks(1.5)]))


# --- lost object -----------------------------------------------------------------------------------
def test_lost_object_alerts_after_the_object_is_missing_for_max_missing_s():
    steps = [step(t) for t in ticks(1.0)] + [step(t, objects=("bowl",)) for t in 1.1 + ticks(2.0)]
    alerts = run(LostObjectMonitor(max_missing_s=1.5), steps)
    first = next(i for i, a in enumerate(alerts) if a)
    assert steps[first].t_s == pytest.approx(2.6)
    assert alerts[first] == "lost object: object 'banana' not seen for 1.5 s"


def test_lost_object_that_reappears_starts_the_count_again():
    flicker = [step(t, objects=("bowl",) if round(t * 10) % 10 < 9 else ("banana", "bowl")) for t in ticks(6.0)]
    assert not any(run(LostObjectMonitor(max_missing_s=1.5), flicker))


def test_lost_object_names_the_missing_target_and_never_the_sink():
    to_sink = Subgoal("s1", "pick_place", {"object": "banana", "target": "sink"})
    sink_steps = [step(t, subgoal=to_sink) for t in ticks(3.0)]
    assert not any(run(LostObjectMonitor(max_missing_s=1.0), sink_steps))
    alerts = run(LostObjectMonitor(max_missing_s=1.0), [step(t, objects=("banana",)) for t in ticks(2.0)])
    assert "target 'bowl'" in next(a for a in alerts if a)


def test_lost_object_never_looks_for_the_operators_words():
    worded = Subgoal("s1", "pick_place", {"object": "banana", "target": "bowl"}, instruction="banana in bowl")
    assert not any(run(LostObjectMonitor(max_missing_s=1.0), [step(t, subgoal=worded) for t in ticks(3.0)]))


# --- safety ----------------------------------------------------------------------------------------
def refused(n: int, kind: str = "joint_velocity", estopped: bool = False) -> FollowResult:
    events = tuple(SafetyEvent(0.0, kind, "too fast") for _ in range(min(n, 1)))
    return FollowResult(steps=50, reached=False, events=events, refusals=n, estopped=estopped)


def test_safety_refusals_alert_once_they_exceed_the_limit_naming_the_kinds():
    alerts = run(SafetyRefusalMonitor(max_refusals=10), [step(0.1 * i, follow=refused(4)) for i in range(4)])
    assert alerts[:2] == [None, None]
    assert alerts[2] == "safety layer refused 12 commands (joint_velocity)"


def test_an_engaged_estop_alerts_at_once():
    alert = run(SafetyRefusalMonitor(), [step(0.0, follow=refused(0, "estop", estopped=True))])[0]
    assert alert == "e-stop engaged"


def test_safety_refusal_count_restarts_with_each_attempt():
    monitor = SafetyRefusalMonitor(max_refusals=10)
    assert run(monitor, [step(0.0, follow=refused(8))]) == [None]
    assert run(monitor, [step(0.0, follow=refused(8))]) == [None]


def test_default_monitors_are_quiet_on_a_healthy_step():
    healthy = [step(t, hand_x_m=0.4 + 0.05 * t) for t in ticks(5.0)]
    for monitor in default_monitors():
        assert not any(run(monitor, healthy)), type(monitor).__name__


# --- anomaly ---------------------------------------------------------------------------------------

def test_anomaly_warns_once_per_stretch_of_steps_over_the_limit_and_never_aborts():
    scores = [0.5, 1.5, 1.6, 0.9, 1.2, 1.3, 1.4, 1.5, 2.0, None, 3.0, 3.0, 3.0]
    out = run(AnomalyMonitor(steps=3), [step(0.1 * i, anomaly=a) for i, a in enumerate(scores)])
    warned = [i for i, alert in enumerate(out) if alert is not None]
    assert warned == [6, 12]  # a dip under the limit (or an unscored step) starts the count again
    assert "out of distribution" in out[6] and "(1.4x)" in out[6]
    assert AnomalyMonitor().aborts is False


def test_anomaly_is_quiet_for_a_policy_without_a_detector():
    assert run(AnomalyMonitor(steps=1), [step(0.1 * i) for i in range(20)]) == [None] * 20


def test_blind_monitor_alerts_once_no_camera_has_been_usable_for_its_window():
    from hvla.core.messages import NO_USABLE_CAMERA
    from hvla.orchestration.monitors import BlindMonitor

    def blind_step(t, blind):
        base = step(t)
        flags = ("frozen_camera:scene", "missing_camera:wrist", NO_USABLE_CAMERA) if blind else ()
        scene = Scene(base.scene.tokens, base.scene.observation, flags)
        return StepInfo(t, base.subgoal, scene, base.proprio, base.follow)

    alerts = run(BlindMonitor(), [blind_step(0.0, False), blind_step(0.1, True), blind_step(0.2, True),
                                  blind_step(0.3, False), blind_step(0.4, True), blind_step(0.5, True),
                                  blind_step(0.6, True), blind_step(0.7, True)])
    assert alerts[:7] == [None] * 7  # one usable camera in between resets the window
    assert "no usable camera" in alerts[7] and "frozen_camera:scene" in alerts[7]
