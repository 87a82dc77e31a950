"""The operator console: plan, run to completion, events and frames over HTTP, bad input, e-stop."""

import time

from fastapi.testclient import TestClient

from hvla.orchestration.console import create_app


def _wait_until_finished(client: TestClient, run_id: int, timeout_s: float = 120) -> dict:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status = client.get(f"/api/runs/{run_id}").json()
        if status["state"] not in ("planning", "running"):
            return status
        time.sleep(0.2)
    return status


def test_console_plans_runs_and_reports_events():
    client = TestClient(create_app())
    assert "hvla operator console" in client.get("/").text
    plan = client.post("/api/plan", json={"instruction": "put the apple on the plate", "seed": 1}).json()
    assert [s["skill"] for s in plan["subgoals"]] == ["pick_place"]
    run = client.post("/api/runs", json={"instruction": "put the apple on the plate", "seed": 1}).json()
    status = _wait_until_finished(client, run["id"])
    assert status["state"] == "succeeded", status["result"]
    kinds = [e["kind"] for e in status["events"]]
    assert kinds[0] == "plan_created" and "subgoal_succeeded" in kinds and kinds[-1] == "episode_finished"
    png = client.get(f"/api/runs/{run['id']}/frame.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


def test_console_rejects_unknown_objects_with_400():
    client = TestClient(create_app())
    resp = client.post("/api/runs", json={"instruction": "put the unicorn in the bowl", "seed": 1})
    assert resp.status_code == 400 and "unicorn" in resp.json()["detail"]
    assert client.get("/api/runs/99").status_code == 404


def test_console_estop_halts_the_episode():
    client = TestClient(create_app())
    run = client.post("/api/runs", json={"instruction": "put the banana in the bowl", "seed": 2}).json()
    time.sleep(0.5)
    assert client.post(f"/api/runs/{run['id']}/estop").json()["estopped"]
    status = _wait_until_finished(client, run["id"])
    assert status["state"] == "failed"
    assert "e-stop" in status["result"]["failure"]
