"""Operator web console (FastAPI): type an instruction, see the plan, watch events and the scene camera,
press e-stop. `hvla serve` starts it on 127.0.0.1.

One episode runs at a time, in a worker thread; the page polls `/api/runs/{id}` for events and the
latest frame. The e-stop goes straight to the controller's safety layer (halt within one period).
The page also teleoperates the hand to record demonstrations (`console_teleop.py`).
"""

from __future__ import annotations

import io
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import imageio.v2 as imageio
import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from hvla.core.errors import HvlaError
from hvla.orchestration import events as ev
from hvla.orchestration.console_teleop import TELEOP_PAGE, add_teleop_routes
from hvla.orchestration.session import plan_report, scene_summary
from hvla.orchestration.stack import StackConfig, build_executor, build_world


class RunRequest(BaseModel):
    instruction: str
    seed: int = 0
    perception: str = StackConfig.perception
    planner: str = StackConfig.planner
    skills: str = StackConfig.skills


@dataclass
class _Run:
    id: int
    request: RunRequest
    state: str = "planning"  # planning | running | succeeded | failed | error
    plan: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    frame: np.ndarray | None = None
    executor: Any = None
    error: str = ""
    planned: threading.Event = field(default_factory=threading.Event)


class _FrameTap:
    """A step recorder that keeps only the latest scene frame for the page."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def write_step(self, obs, scene, chunk, commands, subgoal_id) -> None:
        frame = obs.frames.get("scene")
        if frame is not None:
            self.run.frame = frame.rgb


def create_app(default_stack: StackConfig | None = None) -> FastAPI:
    app = FastAPI(title="hvla operator console")
    runs: dict[int, _Run] = {}
    ids = itertools.count(1)
    lock = threading.Lock()
    base = default_stack or StackConfig()

    def stack_for(req: RunRequest) -> StackConfig:
        from dataclasses import replace

        stack = replace(base, perception=req.perception, planner=req.planner, skills=req.skills)
        return replace(stack, executor=replace(stack.executor, log_cameras=("scene",)))

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return _PAGE

    @app.post("/api/plan")
    def plan(req: RunRequest) -> dict[str, Any]:
        stack = stack_for(req)
        try:
            world = build_world(req.seed, stack)
            executor = build_executor(world, stack)
            _, scene = executor.observe()
            return plan_report(executor.planner.plan(req.instruction, scene), scene)
        except HvlaError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @app.post("/api/runs")
    def start(req: RunRequest) -> dict[str, Any]:
        with lock:
            if any(r.state in ("planning", "running") for r in runs.values()):
                raise HTTPException(status_code=409, detail="an episode is already running")
            run = _Run(next(ids), req)
            runs[run.id] = run
        # OpenGL contexts belong to one thread: the world is built, planned and run in the worker.
        threading.Thread(target=_plan_and_execute, args=(run, stack_for(req)), daemon=True).start()
        run.planned.wait(timeout=120)
        if run.state == "error":
            raise HTTPException(status_code=400, detail=run.error)
        return {"id": run.id, "plan": run.plan}

    @app.get("/api/runs/{run_id}")
    def status(run_id: int, since: int = 0) -> dict[str, Any]:
        run = runs.get(run_id)
        if run is None:
            raise HTTPException(status_code=404, detail=f"no run {run_id}")
        return {"id": run.id, "state": run.state, "plan": run.plan, "events": run.events[since:],
                "n_events": len(run.events), "result": run.result}

    @app.get("/api/runs/{run_id}/frame.png")
    def frame(run_id: int) -> Response:
        run = runs.get(run_id)
        if run is None or run.frame is None:
            raise HTTPException(status_code=404, detail="no frame yet")
        buf = io.BytesIO()
        imageio.imwrite(buf, run.frame, format="png")
        return Response(buf.getvalue(), media_type="image/png")

    @app.post("/api/runs/{run_id}/estop")
    def estop(run_id: int) -> dict[str, Any]:
        run = runs.get(run_id)
        if run is None or run.executor is None:
            raise HTTPException(status_code=404, detail=f"no run {run_id}")
        run.executor.controller.estop("operator e-stop from the console")
        return {"id": run_id, "estopped": True}

    add_teleop_routes(app)
    return app


def _plan_and_execute(run: _Run, stack: StackConfig) -> None:
    req = run.request
    try:
        world = build_world(req.seed, stack)
        run.executor = build_executor(world, stack, _FrameTap(run))
        _, scene = run.executor.observe()
        plan = run.executor.planner.plan(req.instruction, scene)
    except HvlaError as exc:
        run.state, run.error = "error", str(exc)
        run.planned.set()
        return
    run.plan = plan_report(plan, scene)
    run.executor.events.subscribe(lambda e: run.events.append(e.to_json()))
    run.state = "running"
    run.planned.set()
    try:
        result = run.executor.run_plan(plan)
    except Exception as exc:  # the page must show any failure, not a dead thread
        run.state, run.result = "error", {"failure": f"{type(exc).__name__}: {exc}"}
        return
    obs, scene = run.executor.observe()
    run.result = {
        "success": result.success, "failure": result.failure, "sim_time_s": round(result.sim_time_s, 2),
        "subgoals": [r.to_json() for r in result.subgoals], "scene": scene_summary(scene),
    }
    run.events.append(ev.Event.now(ev.EPISODE_FINISHED, obs.t_s, detail={"success": result.success}).to_json())
    run.state = "succeeded" if result.success else "failed"


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>hvla console</title>
<style>body{font-family:sans-serif;margin:2em;max-width:900px}input{font-size:1em}#instr{width:60%}
pre{background:#f4f4f4;padding:.5em;max-height:300px;overflow:auto}img{width:320px;image-rendering:pixelated}
button{font-size:1em}#estop{background:#c00;color:#fff}</style></head><body>
<h1>hvla operator console</h1>
<p><input id="instr" value="put the banana in the bowl, then wipe the counter">
seed <input id="seed" type="number" value="3" style="width:4em">
<button onclick="plan()">plan</button> <button onclick="run()">run</button>
<button id="estop" onclick="estop()">E-STOP</button></p>
<p id="state"></p><h3>plan</h3><pre id="plan"></pre>
<h3>scene camera</h3><img id="frame" alt="no frame yet"><h3>events</h3><pre id="events"></pre>
<script>
let id=null, n=0;
const body=()=>JSON.stringify({instruction:document.getElementById('instr').value,
  seed:parseInt(document.getElementById('seed').value)});
async function post(url){const r=await fetch(url,{method:'POST',headers:{'Content-Type':'application/json'},body:body()});
  const j=await r.json(); if(!r.ok){document.getElementById('state').textContent='error: '+j.detail; return null} return j}
async function plan(){const j=await post('/api/plan'); if(j) document.getElementById('plan').textContent=JSON.stringify(j,null,1)}
async function run(){const j=await post('/api/runs'); if(!j) return; id=j.id; n=0;
  document.getElementById('events').textContent=''; document.getElementById('plan').textContent=JSON.stringify(j.plan,null,1); poll()}
async function estop(){if(id) await fetch('/api/runs/'+id+'/estop',{method:'POST'})}
async function poll(){const r=await fetch('/api/runs/'+id+'?since='+n); const j=await r.json(); n=j.n_events;
  const ev=document.getElementById('events'); for(const e of j.events){ev.textContent+=e.t_s.toFixed(1)+'s '+e.kind+' '+(e.subgoal_id||'')+' '+JSON.stringify(e.detail)+'\\n'}
  document.getElementById('state').textContent='state: '+j.state+(j.result?' '+JSON.stringify(j.result.failure):'');
  document.getElementById('frame').src='/api/runs/'+id+'/frame.png?'+Date.now();
  if(j.state==='running'||j.state==='planning') setTimeout(poll,500)}
</script>""" + TELEOP_PAGE + "</body></html>"
