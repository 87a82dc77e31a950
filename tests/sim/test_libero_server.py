"""The LIBERO server: started, asked, stepped and stopped from hvla's process; every failure a typed LiberoError.

Needs the LIBERO venv (`make test` builds it with `make libero-venv`). One server with one env (libero_object task 0)
serves the request tests; the failure tests start servers of their own (about 1 s each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hvla.core.errors import LiberoError, SimulationError
from hvla.sim.libero.client import LiberoServer, LiberoServerConfig

PYTHON, _ = LiberoServerConfig().resolve_python()
pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(
    not PYTHON.is_file(), reason=f"LIBERO venv missing ({PYTHON}): run `make libero-venv`")]
CAMERAS = ("agentview", "robot0_eye_in_hand")


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> LiberoServerConfig:
    return LiberoServerConfig(log_dir=tmp_path_factory.mktemp("libero-logs"))


@pytest.fixture(scope="module")
def server(config):
    with LiberoServer(config) as srv:
        yield srv


@pytest.fixture(scope="module")
def first(server):
    """Task 0 of libero_object at init state 0, two 64 px cameras with depth."""
    return server.reset("libero_object", 0, init_index=0, cameras=CAMERAS, size=64, depth=True)


def test_hello_reports_libero_reference_stack(server):
    assert server.hello.versions["mujoco"] == "2.3.7"
    assert server.hello.versions["robosuite"] == "1.4.0"
    assert server.hello.versions["numpy"].startswith("1.26")
    assert {"libero_spatial", "libero_object", "libero_goal", "libero_10", "libero_90"} <= set(server.hello.suites)
    assert server.hello.suites["libero_90"] == 90


def test_tasks_lists_libero_object_with_instructions(server):
    tasks = server.tasks("libero_object")
    assert len(tasks) == 10
    assert all(t.language and t.bddl_file.endswith(".bddl") and t.n_init_states == 50 for t in tasks)
    assert tasks[0].language == "pick up the alphabet soup and place it in the basket"


@pytest.mark.render
def test_reset_returns_upright_images_cameras_and_object_poses(first):
    info, obs = first
    assert info.language == "pick up the alphabet soup and place it in the basket"
    assert {o.name for o in info.objects if o.of_interest} == {"alphabet_soup_1", "basket_1"}
    assert info.goal_state == (("in", "alphabet_soup_1", "basket_1_contain_region"),)
    np.testing.assert_allclose(info.T_world_base[:3, 3], [-0.6, 0.0, 0.0])
    assert info.control_freq_hz == 20.0
    np.testing.assert_allclose(info.gripper_joint_range_m, [[0.0, 0.04], [-0.04, 0.0]])
    assert obs.joint_pos_rad.shape == obs.joint_vel_radps.shape == (7,)
    assert obs.gripper_qpos_m.shape == (2,) and obs.eef_pos_m.shape == (3,)
    assert obs.object_pos_m.shape == (len(obs.object_names), 3) == (7, 3)
    np.testing.assert_allclose(np.linalg.norm(obs.object_quat_wxyz, axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(obs.eef_quat_wxyz), 1.0, atol=1e-9)
    pos, _ = obs.object_pose("alphabet_soup_1")
    assert abs(pos[2]) < 0.1  # standing on the floor
    for name in CAMERAS:
        cam = obs.cameras[name]
        assert cam.rgb.shape == (64, 64, 3) and cam.rgb.dtype == np.uint8 and cam.rgb.std() > 5
        assert cam.depth_m.shape == (64, 64) and 0.0 < cam.depth_m.min() < cam.depth_m.max() < 5.0
        assert cam.K[0, 2] == cam.K[1, 2] == 32.0 and cam.K[0, 0] > 0
        np.testing.assert_allclose(cam.T_world_cam[:3, :3] @ cam.T_world_cam[:3, :3].T, np.eye(3), atol=1e-6)
    # K, T_world_cam, the row flip and the depth agree: every object seen by agentview lies just behind the
    # surface its pixel shows (the body origin is inside the object, at most a few cm deeper).
    cam = obs.cameras["agentview"]
    T_cam_world = np.linalg.inv(cam.T_world_cam)
    for p in obs.object_pos_m:
        p_cam = T_cam_world[:3, :3] @ p + T_cam_world[:3, 3]
        u, v = (cam.K @ p_cam)[:2] / p_cam[2]
        assert 0 <= u < 64 and 0 <= v < 64
        assert -0.02 < p_cam[2] - cam.depth_m[int(v), int(u)] < 0.12


def test_step_tracks_a_nearby_joint_target(server, first):
    _, obs = server.reset("libero_object", 0, init_index=0, cameras=(), size=64)
    q0 = obs.joint_pos_rad
    target = q0 + np.array([0.03, -0.03, 0.03, 0.03, -0.03, -0.03, 0.03])
    errors = []
    for _ in range(6):
        obs = server.step(target, gripper=1.0)
        errors.append(np.abs(obs.joint_pos_rad - target).max())
        assert not obs.target_clipped
    assert errors[0] < 0.03 and errors[-1] < 1e-3  # moved toward it at once, on it within 0.3 s
    assert obs.t_s > 0


def test_a_far_target_is_approached_at_the_velocity_limit(server, first):
    info, obs = server.reset("libero_object", 0, init_index=0, cameras=())
    target = obs.joint_pos_rad.copy()
    target[0] += 0.5
    obs = server.step(target, gripper=0.0)
    assert obs.target_clipped
    assert 0.0 < obs.joint_pos_rad[0] - target[0] + 0.5 <= info.joint_step_max_rad[0]


def test_an_episode_replays_exactly_whatever_ran_before_it(server, first):
    def run(before: int) -> np.ndarray:
        server.reset("libero_object", 0, init_index=before, cameras=())  # another scene first: another warm start
        _, obs = server.reset("libero_object", 0, init_index=3, cameras=())
        target = obs.joint_pos_rad + np.array([0.2, 0.3, -0.2, -0.3, 0.2, 0.3, 0.0])  # a fast move, contacts
        for _ in range(8):
            obs = server.step(target, gripper=-1.0)
        return np.concatenate([obs.joint_pos_rad, obs.object_pos_m.ravel()])

    np.testing.assert_array_equal(run(0), run(7))


def test_check_success_is_false_at_the_start(server, first):
    server.reset("libero_object", 0, init_index=1, cameras=())
    assert server.check_success() is False


def test_a_sampled_scene_is_libero_own_draw_repeatable_by_seed_and_none_of_the_official_states(server, first):
    drawn = [server.reset("libero_object", 0, sample_seed=seed, cameras=())[1].object_pos_m for seed in (11, 12, 11)]
    a, b, again = drawn
    np.testing.assert_allclose(a, again, atol=1e-9)  # one seed, one scene
    assert np.abs(a - b).max() > 1e-3  # another seed, another scene
    assert server.last_reset.official_distance_m > 1e-3  # not one of the 50 evaluation states
    np.testing.assert_allclose(server.reset("libero_object", 0, state=server.last_reset.state, cameras=())[1]
                               .object_pos_m, again, atol=1e-9)  # the state replays the scene
    server.reset("libero_object", 0, init_index=2, cameras=())
    assert server.last_reset.official_distance_m is None


def test_an_arm_offset_starts_the_arm_that_far_from_the_init_state(server, first):
    _, plain = server.reset("libero_object", 0, init_index=1, cameras=())
    offset = np.array([0.1, -0.1, 0.05, 0.1, -0.05, 0.1, -0.2])
    _, shifted = server.reset("libero_object", 0, init_index=1, cameras=(), arm_offset_rad=offset)
    np.testing.assert_allclose(shifted.joint_pos_rad - plain.joint_pos_rad, offset, atol=1e-6)
    np.testing.assert_allclose(shifted.object_pos_m, plain.object_pos_m, atol=1e-9)  # the scene as it was


def test_an_error_inside_the_server_is_typed_and_the_server_lives_on(server, first):
    with pytest.raises(LiberoError, match="task 99 out of range") as err:
        server.reset("libero_object", 99)
    assert err.value.kind == "remote" and err.value.remote_type == "IndexError"
    assert isinstance(err.value, SimulationError)
    with pytest.raises(LiberoError, match="joint_target must be 7"):
        server.step(np.zeros(3), gripper=1.0)
    assert server.alive and server.check_success() is False


def test_a_killed_server_raises_a_typed_error_at_once(config):
    with LiberoServer(config) as srv:
        os.kill(srv.pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(LiberoError, match="was killed by SIGKILL during tasks") as err:
            srv.tasks("libero_object")
        assert err.value.kind == "dead" and time.monotonic() - t0 < 3.0
        assert str(srv.log_path) in str(err.value)
        with pytest.raises(LiberoError, match="start a new LiberoServer"):
            srv.check_success()
        assert not srv.alive


def test_a_request_timeout_is_a_typed_error_and_stops_the_server(config):
    with LiberoServer(config) as srv:
        pid, t0 = srv.pid, time.monotonic()
        with pytest.raises(LiberoError, match=r"did not answer sleep within 0\.5 s and was stopped") as err:
            srv.request("sleep", timeout_s=0.5, seconds=60)
        assert err.value.kind == "timeout" and time.monotonic() - t0 < 5.0
        assert _server_state(pid) is None  # killed and reaped
        with pytest.raises(LiberoError, match="start a new LiberoServer"):
            srv.tasks("libero_object")


def test_a_missing_venv_names_make_libero_venv(tmp_path, monkeypatch):
    with pytest.raises(LiberoError, match="make libero-venv") as err:
        LiberoServer(LiberoServerConfig(python=str(tmp_path / "nope" / "python"), log_dir=tmp_path))
    assert err.value.kind == "missing"
    monkeypatch.setenv("HVLA_LIBERO_PYTHON", str(tmp_path / "also-missing"))
    with pytest.raises(LiberoError, match=r"\$HVLA_LIBERO_PYTHON python .*also-missing does not exist"):
        LiberoServer(LiberoServerConfig(log_dir=tmp_path))


def test_a_python_without_libero_names_make_libero_venv(tmp_path):
    # hvla's own interpreter runs the server script (protocol.py works on numpy 2 too) but has no LIBERO.
    with pytest.raises(LiberoError, match=r"cannot import LIBERO.*make libero-venv") as err:
        LiberoServer(LiberoServerConfig(python=sys.executable, log_dir=tmp_path))
    assert err.value.kind == "missing"


def _server_state(pid: int) -> str | None:
    """The process state letter (R, S, Z, ...), or None when no such process exists."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


@pytest.mark.parametrize("how", ["exits", "is_killed"])
def test_no_server_outlives_hvla(how, config):
    script = textwrap.dedent(f"""
        import sys, time
        from hvla.sim.libero.client import LiberoServer, LiberoServerConfig
        srv = LiberoServer(LiberoServerConfig(log_dir={str(config.log_dir)!r}))
        print(srv.pid, flush=True)
        if {how == "is_killed"}:
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(child.stdout.readline())
    if how == "is_killed":
        child.kill()
    child.wait(timeout=30)
    deadline = time.monotonic() + 5.0
    while _server_state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    # A clean exit reaps the server (gone); after a SIGKILL the orphan ends itself and init reaps it.
    assert _server_state(pid) in ((None,) if how == "exits" else (None, "Z"))
