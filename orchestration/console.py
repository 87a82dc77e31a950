"""Operator web console (FastAPI): type an instruction, see the plan as a graph, watch both cameras with
the perceived objects, the events and the policy's confidence, approve each step, press the e-stop.
`hvla serve` starts it on 127.0.0.1 and prints the address with the operator token.

One episode runs at a time, on its own worker thread (`console_runs.py`); the page polls
`/api/status`, `/api/runs/{id}` and `/api/runs/{id}/view`. Every POST needs the token except the
e-stop: anyone must be able to stop a robot, nobody without the token may start it. The e-stop
latches the console (`console_oversight.py`) until `POST /api/estop/reset`. The page is static
(`console_page/`, no CDN: the machine may be offline). Teleoperation is in `console_teleop.py`.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from hvla.core import logs
from hvla.core.errors import SafetyError
from hvla.orchestration.builder import PERCEPTION, PLANNERS, SKILL_POLICIES, StackConfig
from hvla.orchestration.console_guard import (
    MAX_BODY_BYTES,
    BusyError,
    ConflictError,
    NotFoundError,
    console_token,
    install_guards,
)
from hvla.orchestration.console_oversight import EstopLatch
from hvla.orchestration.console_requests import INSTRUCTION_MAX_CHARS, SEED_MAX, ApprovalRequest, RunRequest
from hvla.orchestration.console_runs import KEEP_RUNS, OPERATOR_ESTOP, RunStore, on_own_thread, plan_in_world
from hvla.orchestration.console_view import png_bytes
from hvla.orchestration.teleop.console import TELEOP_ROOT, add_teleop_routes

PLAN_TIMEOUT_S = 120.0  # a plan (world + perception + planner) that takes longer answers 503
START_WAIT_S = 60.0  # POST /api/runs answers with the plan when it is ready this soon, else "planning"
RESET_WAIT_S = 3.0  # a reset waits this long for the stopped run to finish braking and end
# Page security: scripts only from this server (no inline script can run), frames inline as data: URLs.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _page_dir():
    return resources.files("hvla.orchestration") / "console_page"


def create_app(
    default_stack: StackConfig | None = None,
    *,
    token: str | None = None,
    keep_runs: int = KEEP_RUNS,
    max_body_bytes: int = MAX_BODY_BYTES,
    teleop_root=TELEOP_ROOT,
) -> FastAPI:
    """The console app. `token`: the operator token (default: $HVLA_CONSOLE_TOKEN or a random one, in
    `app.state.token`); `default_stack`: the implementations a request that names none gets."""
    logs.ensure_configured()  # hvla's logging policy, also when served by `uvicorn --factory` without `hvla`
    app = FastAPI(title="hvla operator console", docs_url=None, redoc_url=None)  # the docs pages load a CDN
    app.state.token = console_token(token)
    authed = [Depends(install_guards(app, app.state.token, max_body_bytes))]
    runs = RunStore(keep_runs)
    latch = EstopLatch()
    base = default_stack or StackConfig()
    planning = threading.Semaphore(1)  # one /api/plan at a time: each builds a kitchen

    def stack_for(req: RunRequest) -> StackConfig:
        stack = replace(base, perception=req.perception or base.perception, planner=req.planner or base.planner,
                        skills=req.skills or base.skills)
        return replace(stack, executor=replace(stack.executor, log_cameras=("scene", "wrist")))

    def stop_everything(reason: str) -> dict[str, Any]:
        latch.engage(reason)
        live = runs.live()
        if live is not None:
            live.estop(reason)
        return {"estopped": True, "run": live.id if live is not None else None, **latch.to_json()}

    app.mount("/static", StaticFiles(directory=str(_page_dir())), name="static")

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse((_page_dir() / "index.html").read_text(), headers=_PAGE_HEADERS)

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        """What the operator must see at a glance: the latch, the live run, a pending approval."""
        live = runs.live()
        pending = live.gate.pending() if live is not None and live.gate is not None else None
        return {
            "estop": latch.to_json(),
            "live_run": live.summary() if live is not None else None,
            "pending_approval": {"run": live.id, **pending} if live is not None and pending else None,
            "runs": [r.summary() for r in runs.all()],
            "defaults": {"perception": base.perception, "planner": base.planner, "skills": base.skills},
            "implementations": {"perception": PERCEPTION.names(), "planner": PLANNERS.names(),
                                "skills": SKILL_POLICIES.names()},
            "limits": {"seed_max": SEED_MAX, "instruction_max_chars": INSTRUCTION_MAX_CHARS,
                       "max_body_bytes": max_body_bytes},
        }

    @app.post("/api/plan", dependencies=authed)
    def plan(req: RunRequest) -> dict[str, Any]:
        """The plan for the request's kitchen; nothing moves. Built on a worker thread, like a run."""
        if not planning.acquire(blocking=False):
            raise BusyError("another plan is being made; try again in a moment")
        try:
            return on_own_thread(lambda: plan_in_world(req.instruction, req.seed, stack_for(req)),
                                 PLAN_TIMEOUT_S, "planning")
        finally:
            planning.release()

    @app.post("/api/runs", dependencies=authed)
    def start(req: RunRequest) -> Any:
        run = runs.start(req, stack_for(req), latch)
        if not run.planned.wait(timeout=START_WAIT_S):
            return JSONResponse({"id": run.id, "state": run.state, "plan": None}, status_code=202)
        if run.state == "error":
            return JSONResponse({"id": run.id, "detail": run.error, "state": "error"}, status_code=run.error_status)
        return {"id": run.id, "state": run.state, "plan": run.plan}

    @app.get("/api/runs")
    def list_runs() -> list[dict[str, Any]]:
        return [r.summary() for r in runs.all()]

    @app.get("/api/runs/{run_id}")
    def run_status(run_id: int, since: int = 0, since_step: int = 0) -> dict[str, Any]:
        return runs.get(run_id).to_json(max(since, 0), max(since_step, 0))

    @app.get("/api/runs/{run_id}/view")
    def view(run_id: int, after: int = -1) -> dict[str, Any]:
        """Both cameras and the tokens in them, newer than view `after` (else only the latest seq)."""
        run = runs.get(run_id)
        if run.view is None or run.view.seq <= after:
            return {"seq": run.view.seq if run.view is not None else None}
        return run.view_json() or {"seq": None}

    @app.get("/api/runs/{run_id}/frame.png")
    def frame(run_id: int) -> Response:
        return camera_frame(run_id, "scene")

    @app.get("/api/runs/{run_id}/frame/{camera}.png")
    def camera_frame(run_id: int, camera: str) -> Response:
        run = runs.get(run_id)
        cam = run.view.camera(camera) if run.view is not None else None
        if cam is None:
            raise NotFoundError(f"no {camera} frame yet for run {run_id}")
        return Response(png_bytes(cam.rgb), media_type="image/png")

    @app.post("/api/runs/{run_id}/approve", dependencies=authed)
    def approve(run_id: int, req: ApprovalRequest) -> dict[str, Any]:
        run = runs.get(run_id)
        if run.gate is None:
            raise ConflictError(f"run {run_id} was not started in step-approval mode")
        run.gate.decide(req.subgoal_id, req.approve)
        return {"id": run_id, "subgoal_id": req.subgoal_id, "approved": req.approve}

    @app.post("/api/estop")
    def estop() -> dict[str, Any]:
        """No token: anyone must be able to stop the robot. Stops the live run and latches the console."""
        return stop_everything(OPERATOR_ESTOP)

    @app.post("/api/runs/{run_id}/estop")
    def estop_run(run_id: int) -> dict[str, Any]:
        """The same e-stop (a stop button never answers "wrong run": it stops whatever moves)."""
        return {"id": run_id, **stop_everything(OPERATOR_ESTOP)}

    @app.post("/api/estop/reset", dependencies=authed)
    def reset() -> dict[str, Any]:
        """The operator's explicit reset: 409 while the stopped arm is still braking."""
        live = runs.live()
        if live is not None and live.estop_pressed:
            live.finished.wait(RESET_WAIT_S)  # an engaged e-stop ends the episode once the arm is at rest
            executor = live.executor
            if executor is not None:
                try:
                    executor.controller.reset_estop()
                except SafetyError as exc:
                    raise ConflictError(f"not reset: {exc}") from None
        latch.release()
        return {"reset": True, **latch.to_json()}

    add_teleop_routes(app, teleop_root, dependencies=authed)
    return app
