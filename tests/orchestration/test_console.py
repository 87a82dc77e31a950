"""The operator console over HTTP: plan, run to completion, events, frames and views, e-stop and teleop."""

import time

from fastapi.testclient import TestClient

from hvla.orchestration.builder import StackConfig
from hvla.orchestration.console import create_app

TOKEN = "test-token"
ORACLE = StackConfig(perception="oracle", skills="scripted", image_size=64)


def _client(stack: StackConfig | None = None, **kwargs) -> TestClient:
    return TestClient(create_app(stack, token=TOKEN, **kwargs), headers={"X-HVLA-Token": TOKEN})


def _wait_until_finished(client: TestClient, run_id: int, timeout_s: float = 120) -> dict:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status = client.get(f"/api/runs/{run_id}").json()
        if status["state"] not in ("planning", "running"):
            return status
        time.sleep(0.2)
    return status


def test_console_plans_runs_and_reports_events():
    client = _client()  # the default stack: the learned perception
    assert "hvla operator console" in client.get("/").text
    assert client.get("/static/console.js").status_code == 200
    plan = client.post("/api/plan", json={"instruction": "put the apple on the plate", "seed": 1}).json()
    assert [s["skill"] for s in plan["subgoals"]] == ["pick_place"]
    run = client.post("/api/runs", json={"instruction": "put the apple on the plate", "seed": 1}).json()
    status = _wait_until_finished(client, run["id"])
    assert status["state"] == "succeeded", status["result"]
    kinds = [e["kind"] for e in status["events"]]
    assert kinds[0] == "plan_created" and "subgoal_succeeded" in kinds and kinds[-1] == "episode_finished"
    assert [n["state"] for n in status["graph"]["nodes"]] == ["succeeded"]
    assert status["n_steps"] > 0 and 0 <= status["series"][-1]["confidence"] <= 1
    png = client.get(f"/api/runs/{run['id']}/frame.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    view = client.get(f"/api/runs/{run['id']}/view").json()
    assert set(view["cameras"]) == {"scene", "wrist"}
    assert any(b["name"] == "apple" for b in view["cameras"]["scene"]["boxes"])
    assert client.get(f"/api/runs/{run['id']}/view", params={"after": view["seq"]}).json() == {"seq": view["seq"]}


def test_console_rejects_unknown_objects_with_400():
    client = _client(ORACLE)
    resp = client.post("/api/runs", json={"instruction": "put the unicorn in the bowl", "seed": 1})
    assert resp.status_code == 400 and "unicorn" in resp.json()["detail"]
    assert client.get(f"/api/runs/{resp.json()['id']}").json()["state"] == "error"
    plan = client.post("/api/plan", json={"instruction": "put the unicorn in the bowl", "seed": 1})
    assert plan.status_code == 400 and "unicorn" in plan.json()["detail"]
    missing = client.get("/api/runs/99")
    assert missing.status_code == 404 and "no run 99" in missing.json()["detail"]


def test_console_estop_stops_the_episode_and_latches_until_reset():
    client = _client(ORACLE)
    run = client.post("/api/runs", json={"instruction": "put the banana in the bowl", "seed": 2}).json()
    time.sleep(0.3)
    anyone = TestClient(client.app)  # no token: anyone may stop the robot
    assert anyone.post(f"/api/runs/{run['id']}/estop").json()["estopped"]
    status = _wait_until_finished(client, run["id"])
    assert status["state"] == "stopped" and status["result"]["outcome"] == "stopped"
    assert "e-stop" in status["result"]["failure"]
    assert [n["state"] for n in status["graph"]["nodes"]] == ["stopped"]
    assert client.get("/api/status").json()["estop"]["latched"]
    refused = client.post("/api/runs", json={"instruction": "put the banana in the bowl", "seed": 2})
    assert refused.status_code == 409 and "e-stop latched: reset it first" in refused.json()["detail"]
    assert anyone.post("/api/estop/reset").status_code == 401
    assert client.post("/api/estop/reset").json()["reset"]
    assert not client.get("/api/status").json()["estop"]["latched"]
    again = client.post("/api/runs", json={"instruction": "put the banana in the bowl", "seed": 2})
    assert again.status_code == 200
    assert anyone.post("/api/estop").json()["run"] == again.json()["id"]  # the global route stops the live run
    assert _wait_until_finished(client, again.json()["id"])["state"] == "stopped"


def test_console_teleoperation_records_a_demonstration(tmp_path):
    import numpy as np
    from fastapi import FastAPI

    from hvla.orchestration.teleop.console import add_teleop_routes
    from hvla.perception.oracle import OraclePerception
    from hvla.sim.world import KitchenWorld
    from hvla.skills.data.lerobot import load_dataset
    from hvla.skills.data.record import scene_for

    app = FastAPI()
    add_teleop_routes(app, root=tmp_path)
    client = TestClient(app)
    assert client.post("/api/teleop", json={"dataset": "../escape"}).status_code == 400
    assert client.post("/api/teleop", json={"seed": -1}).status_code == 422
    session = client.post("/api/teleop", json={"skill": "pick", "object": "lemon", "seed": 1004}).json()
    assert "lemon at dx" in session["status"]
    world = KitchenWorld(seed=1004, scene=scene_for(("lemon",), 0))  # the same kitchen, to aim the keys
    obs = world.observe(())
    d = np.asarray(OraclePerception().perceive(obs).find("lemon").position_m) - obs.proprio.T_world_ee[:3, 3]
    keys = ("w" if d[0] > 0 else "s") * round(abs(d[0]) / 0.01) + ("a" if d[1] > 0 else "d") * round(abs(d[1]) / 0.01)
    keys += "....." + "f" * round(abs(d[2]) / 0.01) + "....." + "g" + "." * 8 + "r" * 20
    assert client.post(f"/api/teleop/{session['id']}/keys", json={"keys": "z"}).status_code == 400
    assert client.post(f"/api/teleop/{session['id']}/keys", json={"keys": keys}).status_code == 200
    deadline = time.time() + 120
    while (status := client.get(f"/api/teleop/{session['id']}").json())["state"] == "driving":
        assert time.time() < deadline
        time.sleep(0.2)
    assert status["state"] == "succeeded", status
    png = client.get(f"/api/teleop/{session['id']}/frame.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    ds = load_dataset(tmp_path / "console", ("action",))
    assert ds.episodes[0]["hvla/source"] == "teleop" and ds.episodes[0]["hvla/success"]
    assert list((tmp_path / "console" / "videos").rglob("*.mp4"))  # the scene camera, recorded
