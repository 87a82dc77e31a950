"""Episode logs: round trip, atomicity under crashes, and the reader's tolerance of cut-off files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hvla.core.errors import DatasetError
from hvla.core.messages import Observation, Plan, Scene, Subgoal
from hvla.orchestration import events as ev
from hvla.orchestration.episode_log import (
    STALE_S,
    EpisodeWriter,
    IncompleteEpisodeWarning,
    StepRecord,
    list_episodes,
    load_episode,
    step_files,
)
from hvla.orchestration.events import EventLog

CONFTEST = Path(__file__).with_name("conftest.py")


def _plan() -> Plan:
    return Plan.sequence(
        [Subgoal("s1", "pick_place", {"object": "banana", "target": "bowl"}), Subgoal("s2", "wipe", {})],
        "put the banana in the bowl, then wipe the counter",
        grounding=0.9,
    )


def _assert_observation_equal(got: Observation, want: Observation) -> None:
    assert got.t_s == want.t_s
    for name in ("q_rad", "dq_radps", "T_world_ee"):
        np.testing.assert_array_equal(getattr(got.proprio, name), getattr(want.proprio, name))
    assert got.proprio.gripper_m == want.proprio.gripper_m
    assert set(got.frames) == set(want.frames)
    for name, frame in want.frames.items():
        back = got.frames[name]
        np.testing.assert_array_equal(back.rgb, frame.rgb)  # PNG is lossless
        np.testing.assert_allclose(back.depth_m, frame.depth_m, rtol=1e-3, equal_nan=True)  # float16
        assert back.depth_m.dtype == np.float32
        np.testing.assert_array_equal(back.info.K, frame.info.K)
        np.testing.assert_array_equal(back.info.T_world_cam, frame.info.T_world_cam)
        assert (back.info.width, back.info.height) == (frame.info.width, frame.info.height)
        if frame.segmentation is None:
            assert back.segmentation is None
        else:
            np.testing.assert_array_equal(back.segmentation, frame.segmentation)


def _assert_step_equal(step: StepRecord, i: int, messages) -> None:
    obs, scene, chunk, commands = messages
    assert step.index == i and step.t_s == obs.t_s
    _assert_observation_equal(step.observation, obs)
    assert isinstance(step.scene, Scene) and step.scene.flags == scene.flags
    for got, want in zip(step.scene.tokens, scene.tokens, strict=True):
        for name in ("track_id", "label", "name", "score", "color_name", "yaw_rad", "category"):
            assert getattr(got, name) == getattr(want, name), name
        for name in ("position_m", "extent_m", "color_rgb"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.mask is None  # masks are not logged
    np.testing.assert_array_equal(step.chunk.ee_targets, chunk.ee_targets)
    np.testing.assert_array_equal(step.chunk.gripper_m, chunk.gripper_m)
    assert (step.chunk.confidence, step.chunk.dt_s) == (chunk.confidence, chunk.dt_s)
    assert step.command_q_rad.shape == (len(commands), 7)
    for got, want in zip(step.commands(), commands, strict=True):
        np.testing.assert_array_equal(got.q_rad, want.q_rad)
        np.testing.assert_array_equal(got.dq_radps, want.dq_radps)
        assert got.gripper_m == want.gripper_m


def _write_complete(root: Path, synthetic_step, n: int = 5, episode_id: str | None = None) -> Path:
    log = EventLog()
    with EpisodeWriter(root, episode_id, meta={"seed": 3, "instruction": "put the banana in the bowl"}) as w:
        log.subscribe(w.write_event)
        log.emit(ev.EPISODE_STARTED, 0.3)
        w.write_plan(_plan())
        for i in range(n):
            log.emit(ev.CHUNK_ISSUED, 0.3 + 0.1 * i, "s1", {"k": 4})
            w.write_step(*synthetic_step(i), subgoal_id="s1")
        log.emit(ev.EPISODE_FINISHED, 0.8, detail={"success": True})
        w.finish(
            True,
            None,
            {"s1": {"outcome": "succeeded", "duration_s": 0.5}},
            final_observation=synthetic_step(n)[0],
            extra={"sim_time_s": 0.5},
        )
    return w.path


def test_round_trip_gives_back_every_message(tmp_path, synthetic_step):
    path = _write_complete(tmp_path, synthetic_step)
    episode = load_episode(path)
    assert not episode.incomplete and episode.state == "complete" and episode.error is None
    assert episode.meta["seed"] == 3 and episode.meta["episode_id"] == path.name
    assert episode.plan == _plan().to_json() and episode.plans == [episode.plan]
    assert [e.kind for e in episode.events] == [ev.EPISODE_STARTED] + [ev.CHUNK_ISSUED] * 5 + [ev.EPISODE_FINISHED]
    assert episode.events[1].detail == {"k": 4} and episode.events[1].subgoal_id == "s1"
    assert len(episode.steps) == 5
    for i, step in enumerate(episode.steps):
        _assert_step_equal(step, i, synthetic_step(i))
        assert step.subgoal_id == "s1"
    assert episode.outcome["success"] is True and episode.outcome["failure"] is None
    assert episode.outcome["subgoals"] == {"s1": {"outcome": "succeeded", "duration_s": 0.5}}
    assert episode.outcome["n_steps"] == 5 and episode.outcome["sim_time_s"] == 0.5
    np.testing.assert_array_equal(episode.final_proprio.q_rad, synthetic_step(5)[0].proprio.q_rad)
    assert not list(path.rglob("*.tmp"))


def test_step_without_scene_or_chunk_and_images_skipped_on_load(tmp_path, synthetic_step):
    obs = synthetic_step(0)[0]
    with EpisodeWriter(tmp_path, meta={"seed": 0}) as w:
        w.write_step(obs)
        w.finish(False, "timeout in s1", [{"id": "s1", "outcome": "timeout"}], extra={"success": True, "seed": 0})
    episode = load_episode(w.path, images=False)
    assert episode.outcome["success"] is False and episode.outcome["seed"] == 0  # extra cannot override
    assert episode.outcome["subgoals"] == [{"id": "s1", "outcome": "timeout"}]
    step = episode.steps[0]
    assert step.scene is None and step.chunk is None and step.subgoal_id is None
    assert step.command_q_rad.shape == (0, 7) and step.commands() == []
    assert dict(step.observation.frames) == {}
    np.testing.assert_array_equal(step.observation.proprio.q_rad, obs.proprio.q_rad)


def test_jpeg_images_are_close(tmp_path, synthetic_step):
    obs = synthetic_step(0)[0]
    smooth = np.tile(np.linspace(0, 255, obs.frames["scene"].info.width, dtype=np.uint8)[None, :, None], (24, 1, 3))
    frame = obs.frames["scene"]
    obs = Observation(obs.t_s, obs.proprio, {"scene": type(frame)(frame.info, smooth, frame.depth_m)})
    with EpisodeWriter(tmp_path, meta={"seed": 0}, image_format="jpeg") as w:
        w.write_step(obs)
        w.finish(True)
    rgb = load_episode(w.path).steps[0].observation.frames["scene"].rgb
    assert np.abs(rgb.astype(int) - smooth).mean() < 3


def test_default_id_names_time_and_seed_and_existing_folders_are_refused(tmp_path, synthetic_step):
    first = _write_complete(tmp_path, synthetic_step, n=1)
    assert re.fullmatch(r"\d{8}-\d{6}-seed3-[0-9a-f]{4}", first.name)
    with pytest.raises(DatasetError, match="never overwritten"):
        EpisodeWriter(tmp_path, first.name, meta={"seed": 3})
    assert load_episode(first).state == "complete"


def test_keyboard_interrupt_marks_the_episode_incomplete_and_propagates(tmp_path, synthetic_step):
    with pytest.raises(KeyboardInterrupt), EpisodeWriter(tmp_path, "ctrl-c", meta={"seed": 1}) as w:
        w.write_plan(_plan())
        for i in range(3):
            w.write_step(*synthetic_step(i))
        raise KeyboardInterrupt
    episode = load_episode(w.path)
    assert episode.incomplete and episode.state == "incomplete"
    assert episode.error == "KeyboardInterrupt" and episode.outcome is None
    assert [s.index for s in episode.steps] == [0, 1, 2]
    with pytest.raises(DatasetError, match="incomplete"):
        w.write_step(*synthetic_step(3))


def test_an_exception_is_recorded_with_its_text(tmp_path):
    with pytest.raises(RuntimeError), EpisodeWriter(tmp_path, "boom", meta={"seed": 1}):
        raise RuntimeError("physics exploded")
    assert load_episode(tmp_path / "boom").error == "RuntimeError: physics exploded"


def test_leaving_without_finish_is_incomplete_and_finish_closes_the_writer(tmp_path, synthetic_step):
    with EpisodeWriter(tmp_path, "forgot", meta={"seed": 1}):
        pass
    assert load_episode(tmp_path / "forgot").incomplete
    path = _write_complete(tmp_path, synthetic_step, n=1, episode_id="done")
    assert not load_episode(path).incomplete


def test_cut_off_last_step_and_event_are_skipped_with_a_warning(tmp_path, synthetic_step):
    path = _write_complete(tmp_path, synthetic_step, n=3)
    last = step_files(path)[-1]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with open(path / "events.jsonl", "a") as f:
        f.write('{"t_s": 1.0, "wall_s": 2.0, "ki')
    with pytest.warns(IncompleteEpisodeWarning) as caught:
        episode = load_episode(path)
    assert len(caught) == 2
    assert episode.incomplete and episode.state == "complete"
    assert [s.index for s in episode.steps] == [0, 1] and len(episode.events) == 5


def test_a_damaged_step_in_the_middle_raises(tmp_path, synthetic_step):
    path = _write_complete(tmp_path, synthetic_step, n=3)
    step_files(path)[1].write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"000001\.npz: damaged step file in the middle"):
        load_episode(path)
    with pytest.raises(DatasetError, match="not an episode folder"):
        load_episode(tmp_path)


_CHILD = """
import runpy, sys
from hvla.orchestration import events as ev
from hvla.orchestration.episode_log import EpisodeWriter
step_messages = runpy.run_path(sys.argv[1])["step_messages"]
writer = EpisodeWriter(sys.argv[2], "killed", meta={"seed": 1})
log = ev.EventLog([writer.write_event])
writer.write_plan({"subgoals": [], "edges": [], "scores": {}})
i = 0
while True:  # an episode that never ends by itself
    log.emit(ev.CHUNK_ISSUED, float(i), "s1")
    writer.write_step(*step_messages(i), subgoal_id="s1")
    print(i, flush=True)
    i += 1
"""


def test_sigkill_mid_episode_leaves_earlier_logs_intact_and_the_partial_one_readable(tmp_path, synthetic_step):
    earlier = _write_complete(tmp_path, synthetic_step, n=2)
    before = {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(CONFTEST), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            for want in range(4):  # the child reports each step once it is on disk
                line = child.stdout.readline()
                assert line.strip() == str(want), child.stderr.read() if child.poll() is not None else line
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    assert {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()} == before
    assert not load_episode(earlier).incomplete
    partial = load_episode(tmp_path / "killed")  # a step cut mid-write would be a temporary file, never seen
    assert partial.incomplete and partial.state == "interrupted" and partial.outcome is None
    assert f"pid {child.pid}" in partial.error and "died" in partial.error
    assert len(partial.steps) >= 4 and partial.plan == {"subgoals": [], "edges": [], "scores": {}}
    for i, step in enumerate(partial.steps):
        _assert_step_equal(step, i, synthetic_step(i))
    assert len(partial.events) >= 4
    summaries = {s.episode_id: s for s in list_episodes(tmp_path)}
    assert summaries["killed"].state == "interrupted" and summaries["killed"].success is None
    assert summaries[earlier.name].success is True and summaries[earlier.name].n_steps == 2


def test_an_unfinished_log_is_running_while_its_writer_lives_and_interrupted_once_it_is_gone(tmp_path, synthetic_step):
    live = EpisodeWriter(tmp_path, "live", meta={"seed": 1})  # this process: alive
    live.write_step(*synthetic_step(0))
    assert load_episode(live.path).state == "running"
    status = json.loads((live.path / "status.json").read_text())
    assert status["owner"]["pid"] == os.getpid()

    # The same log as a writer that has since died leaves it: a reaped child's pid, nothing else changed.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status["owner"]["pid"] = int(dead.stdout)
    (live.path / "status.json").write_text(json.dumps(status))
    episode = load_episode(live.path)
    assert episode.state == "interrupted" and episode.incomplete and len(episode.steps) == 1
    assert f"pid {dead.stdout.strip()}" in episode.error
    assert {s.episode_id: s.state for s in list_episodes(tmp_path)} == {"live": "interrupted"}
    live.finish(True)  # the writer object itself never looked at the disk's claim
    assert load_episode(live.path).state == "complete"


def test_a_log_with_no_owner_is_judged_by_its_last_write(tmp_path, synthetic_step):
    with EpisodeWriter(tmp_path, "old", meta={"seed": 1}) as w:
        w.write_step(*synthetic_step(0))
        status = json.loads((w.path / "status.json").read_text())
        del status["owner"]  # as logs written before the owner was recorded
        (w.path / "status.json").write_text(json.dumps(status))
        assert load_episode(w.path).state == "running"  # just written: it may still be going
        old_s = time.time() - STALE_S - 5
        for p in (w.path / "status.json", w.path / "events.jsonl", w.path / "steps"):
            os.utime(p, (old_s, old_s))
        episode = load_episode(w.path)
        assert episode.state == "interrupted" and "no writer recorded" in episode.error
        w.finish(True)
