"""The console cannot be broken by a request: validation, JSON errors, a body limit, the token, worker
failures that end their run (never the console), worlds released on their own thread, old runs evicted."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
from fastapi.testclient import TestClient

from hvla.orchestration import console as console_module
from hvla.orchestration import console_runs
from hvla.orchestration.builder import StackConfig
from hvla.orchestration.console import create_app

TOKEN = "test-token"
ORACLE = StackConfig(perception="oracle", skills="scripted", image_size=64)
APPLE = {"instruction": "put the apple on the plate", "seed": 1}
UNICORN = {"instruction": "put the unicorn in the bowl", "seed": 1}  # refused in planning: a cheap run


def _client(**kwargs) -> TestClient:
    app = create_app(ORACLE, token=TOKEN, **kwargs)
    return TestClient(app, headers={"X-HVLA-Token": TOKEN}, raise_server_exceptions=False)


def _finish(client: TestClient, run_id: int, timeout_s: float = 60) -> dict:
    deadline = time.time() + timeout_s
    while (status := client.get(f"/api/runs/{run_id}").json())["state"] in ("planning", "running"):
        assert time.time() < deadline, status
        time.sleep(0.1)
    return status


@pytest.mark.parametrize("body, field", [
    ({"instruction": "put the apple on the plate", "seed": -1}, "seed"),
    ({"instruction": "put the apple on the plate", "seed": 2**31}, "seed"),
    ({"instruction": "put the apple on the plate", "seed": "3"}, "seed"),
    ({"instruction": "put the apple on the plate", "seed": 3.5}, "seed"),
    ({"instruction": "", "seed": 1}, "instruction"),
    ({"instruction": "   ", "seed": 1}, "instruction"),
    ({"instruction": "x" * 501, "seed": 1}, "instruction"),
    ({"instruction": 7, "seed": 1}, "instruction"),
    ({"seed": 1}, "instruction"),
    ({"instruction": "put the apple on the plate", "sede": 1}, "sede"),
    ({"instruction": "put the apple on the plate", "perception": "yolov"}, "perception"),
    ({"instruction": "put the apple on the plate", "approval": "yes"}, "approval"),
])
def test_bad_requests_get_a_readable_422_and_the_next_run_still_starts(body, field):
    client = _client()
    for route in ("/api/runs", "/api/plan"):
        resp = client.post(route, json=body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"].startswith(f"{field}:"), resp.json()
    if field == "perception":
        assert "unknown perception 'yolov'; known: ['oracle', 'yolo']" in resp.json()["detail"]
    assert client.get("/api/status").json()["live_run"] is None


def test_a_bad_seed_does_not_lock_the_console():
    client = _client()
    assert client.post("/api/runs", json={**APPLE, "seed": -1}).status_code == 422
    run = client.post("/api/runs", json=APPLE)
    assert run.status_code == 200 and run.json()["state"] == "running"
    assert _finish(client, run.json()["id"])["state"] == "succeeded"


def test_malformed_json_and_missing_body_are_json_422():
    client = _client()
    resp = client.post("/api/runs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422 and "not valid JSON" in resp.json()["detail"]
    resp = client.post("/api/runs")
    assert resp.status_code == 422 and resp.json()["detail"]


def _raise(exc: Exception):
    """A callable that raises `exc` whatever it is called with."""
    return lambda *args, **kwargs: (_ for _ in ()).throw(exc)


def _build_with_broken(part: str, method: str, exc: Exception):
    """`build_executor`, but the executor's `part.method` raises `exc`."""
    real = console_runs.build_executor

    def build(world, stack, recorder=None):
        executor = real(world, stack, recorder)
        setattr(getattr(executor, part), method, _raise(exc))
        return executor

    return build


def test_an_exception_in_planning_ends_that_run_in_error_and_the_next_one_starts(monkeypatch):
    client = _client()
    monkeypatch.setattr(console_runs, "build_executor",
                        _build_with_broken("planner", "plan", RuntimeError("planner fell over")))
    resp = client.post("/api/runs", json=APPLE)
    assert resp.status_code == 500 and "RuntimeError: planner fell over" in resp.json()["detail"]
    status = client.get(f"/api/runs/{resp.json()['id']}").json()
    assert status["state"] == "error" and "planner fell over" in status["error"]
    monkeypatch.setattr(console_module, "plan_in_world", _raise(ValueError("plan broke")))
    resp = client.post("/api/plan", json=APPLE)
    assert resp.status_code == 500 and "ValueError: plan broke" in resp.json()["detail"]
    monkeypatch.undo()
    run = client.post("/api/runs", json=APPLE)
    assert run.status_code == 200
    assert _finish(client, run.json()["id"])["state"] == "succeeded"


def test_an_exception_during_the_episode_ends_the_run_in_error(monkeypatch):
    client = _client()
    monkeypatch.setattr(console_runs, "build_executor", _build_with_broken("policy", "act", KeyError("gripper")))
    run = client.post("/api/runs", json=APPLE).json()
    status = _finish(client, run["id"])
    assert status["state"] == "error" and "KeyError" in status["error"]
    monkeypatch.undo()
    assert client.post("/api/runs", json=UNICORN).status_code == 400  # not 409: nothing holds the console


def test_oversized_bodies_are_refused_with_413_before_parsing():
    client = _client(max_body_bytes=1024)
    big = {"instruction": "x" * 10_000_000, "seed": 1}
    t0 = time.perf_counter()
    resp = client.post("/api/runs", json=big)
    assert resp.status_code == 413 and "at most 1024 bytes" in resp.json()["detail"]
    assert time.perf_counter() - t0 < 2.0

    def chunks():  # no Content-Length: counted while read
        for _ in range(100):
            yield b"x" * 100

    resp = client.post("/api/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    resp = client.post("/api/runs", content=b"{}", headers={"Content-Type": "application/json",
                                                            "Content-Length": "lots"})
    assert resp.status_code == 400 and resp.json()["detail"]
    assert client.post("/api/runs", json=UNICORN).status_code == 400  # small bodies pass


def test_the_token_is_needed_to_move_the_robot_but_not_to_stop_it():
    client = _client()
    anyone = TestClient(client.app)
    wrong = TestClient(client.app, headers={"X-HVLA-Token": "guess"})
    for route, body in (("/api/runs", APPLE), ("/api/plan", APPLE), ("/api/estop/reset", None),
                        ("/api/runs/1/approve", {"subgoal_id": "s0", "approve": True}),
                        ("/api/teleop", {}), ("/api/teleop/1/keys", {"keys": "w"}), ("/api/teleop/1/end", None)):
        for who in (anyone, wrong):
            resp = who.post(route, json=body)
            assert resp.status_code == 401, (route, resp.text)
            assert "token" in resp.json()["detail"]
    bearer = TestClient(client.app, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.post("/api/runs", json=UNICORN).status_code == 400  # through the token check, refused later
    assert anyone.post("/api/estop").status_code == 200
    assert anyone.post("/api/runs/12/estop").status_code == 200
    assert anyone.get("/api/status").json()["estop"]["latched"]
    assert bearer.post("/api/estop/reset").status_code == 200


def test_the_token_comes_from_the_environment_or_is_generated(monkeypatch):
    monkeypatch.setenv("HVLA_CONSOLE_TOKEN", "from-env")
    assert create_app(ORACLE).state.token == "from-env"
    monkeypatch.delenv("HVLA_CONSOLE_TOKEN")
    a, b = create_app(ORACLE).state.token, create_app(ORACLE).state.token
    assert a != b and len(a) >= 20


def test_step_approval_waits_for_the_operator_and_an_estop_answers_no():
    client = _client()
    two_steps = {"instruction": "put the banana in the bowl, then wipe the counter", "seed": 3, "approval": True}
    run = client.post("/api/runs", json=two_steps).json()
    deadline = time.time() + 30
    while (pending := client.get("/api/status").json()["pending_approval"]) is None:
        assert time.time() < deadline
        time.sleep(0.05)
    assert pending["run"] == run["id"] and pending["subgoal_id"] == "s0"
    wrong = client.post(f"/api/runs/{run['id']}/approve", json={"subgoal_id": "s1", "approve": True})
    assert wrong.status_code == 409 and "s0 is waiting" in wrong.json()["detail"]
    assert client.post("/api/estop").status_code == 200  # while the operator decides
    status = _finish(client, run["id"], timeout_s=10)
    assert status["state"] == "stopped"
    assert {n["id"]: n["state"] for n in status["graph"]["nodes"]} == {"s0": "stopped", "s1": "skipped"}
    assert client.post("/api/estop/reset").status_code == 200

    run = client.post("/api/runs", json=two_steps).json()
    while client.get(f"/api/runs/{run['id']}").json()["pending_approval"] is None:
        time.sleep(0.05)
    client.post(f"/api/runs/{run['id']}/approve", json={"subgoal_id": "s0", "approve": False})
    status = _finish(client, run["id"], timeout_s=10)
    assert status["state"] == "stopped" and "declined by the operator" in status["result"]["failure"]
    late = client.post(f"/api/runs/{run['id']}/approve", json={"subgoal_id": "s0", "approve": True})
    assert late.status_code == 409 and "no subgoal is waiting" in late.json()["detail"]
    plain = client.post("/api/runs", json=APPLE).json()
    not_asked = client.post(f"/api/runs/{plain['id']}/approve", json={"subgoal_id": "s0", "approve": True})
    assert not_asked.status_code == 409 and "not started in step-approval mode" in not_asked.json()["detail"]
    _finish(client, plain["id"])


def test_a_run_stopped_while_planning_never_moves_even_after_a_reset(monkeypatch):
    real = console_runs.build_executor
    planning, release = threading.Event(), threading.Event()

    def slow_planner(world, stack, recorder=None):
        executor = real(world, stack, recorder)
        plan = executor.planner.plan

        def wait_then_plan(instruction, scene):
            planning.set()
            release.wait(20)
            return plan(instruction, scene)

        executor.planner.plan = wait_then_plan
        return executor

    monkeypatch.setattr(console_runs, "build_executor", slow_planner)
    client = _client()
    started = threading.Thread(target=client.post, args=("/api/runs",), kwargs={"json": APPLE})
    started.start()
    assert planning.wait(20)
    assert client.post("/api/estop").json()["run"] == 1
    assert client.post("/api/estop/reset").status_code == 200  # the arm was at rest: the reset is allowed
    release.set()
    started.join(20)
    status = _finish(client, 1)
    assert status["state"] == "stopped" and "subgoal_started" not in [e["kind"] for e in status["events"]]


def test_worlds_are_closed_on_the_thread_that_built_them_and_released(monkeypatch):
    from hvla.sim.world import KitchenWorld

    built: list[tuple[weakref.ref, int]] = []
    closed: list[int] = []
    real_build, real_close = console_runs.build_world, KitchenWorld.close

    def build_world(seed, stack):
        world = real_build(seed, stack)
        built.append((weakref.ref(world), threading.get_ident()))
        return world

    def close(self):
        closed.append(threading.get_ident())
        real_close(self)

    monkeypatch.setattr(console_runs, "build_world", build_world)
    monkeypatch.setattr(KitchenWorld, "close", close)
    client = _client()
    assert client.post("/api/plan", json=APPLE).status_code == 200
    _finish(client, client.post("/api/runs", json=APPLE).json()["id"])
    assert len(built) == 2 and closed[:2] == [ident for _, ident in built]
    assert threading.get_ident() not in closed
    gc.collect()
    assert [ref() for ref, _ in built] == [None, None]  # nothing keeps a finished run's world


def test_old_runs_are_evicted():
    client = _client(keep_runs=2)
    ids = [client.post("/api/runs", json=UNICORN).json()["id"] for _ in range(4)]
    assert [r["id"] for r in client.get("/api/runs").json()] == ids[-2:]
    resp = client.get(f"/api/runs/{ids[0]}")
    assert resp.status_code == 404 and "keeps the last 2" in resp.json()["detail"]
