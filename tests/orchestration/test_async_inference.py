"""Asynchronous sense-act: the same chunks as in line for a frozen scene, aligned by their age; real-time mode
counts missed deadlines (a slow perception) and none for a fast stack."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hvla.core.errors import ConfigError
from hvla.core.messages import ActionChunk, Observation, Plan, Proprio, Scene, Subgoal
from hvla.orchestration import events as ev
from hvla.orchestration.executor import ExecutorConfig
from hvla.orchestration.inference import SenseAct, align

from .test_executor import FakeController, FakePerception, FakeRobot, after, executor


def _chunk(k: int = 5) -> ActionChunk:
    targets = np.array([[0.4 + 0.01 * i, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0] for i in range(k)])
    return ActionChunk(targets, np.linspace(0.0, 0.08, k), confidence=0.7, dt_s=0.1)


def test_align_drops_the_waypoints_whose_time_has_passed():
    chunk = _chunk()
    assert align(chunk, 0.0) is chunk
    later = align(chunk, 0.1)
    assert later is not None and len(later) == 4
    np.testing.assert_array_equal(later.ee_targets, chunk.ee_targets[1:])
    np.testing.assert_array_equal(later.gripper_m, chunk.gripper_m[1:])
    assert later.confidence == chunk.confidence and later.dt_s == chunk.dt_s
    assert len(align(chunk, 0.25)) == 3  # the third waypoint (0.3 s) is still ahead
    assert align(chunk, 0.5) is None
    with pytest.raises(ConfigError, match="before its observation"):
        align(chunk, -0.1)


class FrozenRobot(FakeRobot):
    """The hand does not move whatever is commanded: every observation shows the same scene."""

    def observe(self, cameras=None) -> Observation:
        T = np.eye(4)
        T[:3, 3] = [0.4, 0.0, 0.3]
        return Observation(self.t_s, Proprio(np.zeros(7), np.zeros(7), 0.04, T))


class SceneDependentPolicy:
    """A chunk that depends on the scene and on how many chunks came before (a policy with memory)."""

    def __init__(self) -> None:
        self.calls = 0

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.calls = 0

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        self.calls += 1
        banana = scene.tokens[0].position_m
        targets = [np.r_[proprio.ee_position_m + 0.01 * k * (banana - proprio.ee_position_m), 1.0, 0, 0, 0]
                   for k in range(1, 5)]
        return ActionChunk(np.array(targets), np.full(4, 0.08), confidence=0.9)


class RecordingController(FakeController):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[ActionChunk] = []

    def follow(self, chunk, robot, duration_s=None):
        self.chunks.append(chunk)
        return super().follow(chunk, robot, duration_s)


def _run(inference: str, realtime: bool = False, perception=None, seconds: float = 0.6):
    controller = RecordingController()
    ex = executor(robot=FrozenRobot(), policy=SceneDependentPolicy(), controller=controller,
                  perception=perception or FakePerception(),
                  config=ExecutorConfig(retries=0, inference=inference, realtime=realtime))
    result = ex.run_plan(Plan.sequence([Subgoal("a", "pick", {"object": "banana"}, success=after(seconds))]))
    return ex, controller.chunks, result


def test_async_gives_the_sync_chunks_for_a_frozen_scene_one_period_later():
    _, sync, sync_result = _run("sync")
    _, asyn, async_result = _run("async")
    assert sync_result.success and async_result.success and len(sync) == 6
    assert len(asyn) == 7  # the predicate is judged on a scene one period old: seen one tick later
    np.testing.assert_array_equal(asyn[0].ee_targets, sync[0].ee_targets)  # the first tick is computed in line
    for s, a in zip(sync[1:], asyn[1:]):  # then each chunk is from the period before, its first waypoint passed
        np.testing.assert_allclose(a.ee_targets, s.ee_targets[1:], atol=1e-12)
        np.testing.assert_array_equal(a.gripper_m, s.gripper_m[1:])


def test_the_worker_computes_what_the_caller_would():
    obs = FrozenRobot().observe()
    inline = SenseAct(FakePerception(), SceneDependentPolicy(), asynchronous=False).compute(obs)
    worker = SenseAct(FakePerception(), SceneDependentPolicy(), asynchronous=True)
    worker.submit(obs)
    with pytest.raises(ConfigError, match="already in flight"):
        worker.submit(obs)
    got = worker.collect()
    worker.close()
    np.testing.assert_array_equal(got.chunk.ee_targets, inline.chunk.ee_targets)
    assert got.t_obs_s == obs.t_s and got.compute_s >= 0


class SlowPerception(FakePerception):
    """Perception that takes longer than the loop's period."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def perceive(self, obs: Observation) -> Scene:
        time.sleep(self.seconds)
        return super().perceive(obs)


@pytest.mark.parametrize("inference", ["sync", "async"])
def test_realtime_reports_missed_deadlines_of_a_slow_perception(inference: str):
    ex, _, result = _run(inference, realtime=True, perception=SlowPerception(0.25), seconds=0.6)
    assert result.deadlines is not None and result.deadlines["ticks"] >= 5
    assert result.deadlines["missed"] >= 3
    missed = ex.events.of_kind(ev.DEADLINE_MISSED)
    assert len(missed) == result.deadlines["missed"]
    if inference == "async":  # the arm went on with the chunk in hand instead of waiting
        assert result.deadlines["late_chunks"] >= 2 and any(m.detail["what"] == "chunk not ready" for m in missed)


def test_realtime_paces_a_fast_stack_to_the_wall_clock_without_misses():
    t0 = time.perf_counter()
    _, _, result = _run("async", realtime=True, seconds=0.5)
    # six ticks: the predicate is judged on the scene of the period before
    assert result.success and result.deadlines == {"ticks": 6, "missed": 0, "late_chunks": 0, "worst_late_ms": 0.0}
    assert time.perf_counter() - t0 >= 0.55  # six 0.1 s periods, paced


def test_unknown_inference_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="inference 'parallel' unknown"):
        ExecutorConfig(inference="parallel")


def test_a_chunk_all_in_the_past_holds_its_last_target():
    from hvla.orchestration.inference import last_waypoint

    chunk = _chunk()
    held = last_waypoint(chunk)
    assert len(held) == 1
    np.testing.assert_array_equal(held.ee_targets[0], chunk.ee_targets[-1])
    assert held.gripper_m[0] == chunk.gripper_m[-1]
