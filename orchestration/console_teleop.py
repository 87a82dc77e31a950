"""Teleoperation in the operator console: drive the hand from the browser's keyboard, record the episode.

The episode runs in a worker thread (the world's OpenGL context lives there) and pulls keys from a
queue that the page fills (`POST /api/teleop/{id}/keys`); the simulation advances one 10 Hz tick per
key, so the operator can take their time. `end` stops it; an episode that meets its skill's success
condition ends by itself. Episodes go into `data/teleop/<dataset>` (LeRobot v3), as from `hvla data teleop`.
"""

from __future__ import annotations

import io
import itertools
import queue
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel

from hvla.core.errors import HvlaError

TELEOP_ROOT = Path("data/teleop")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TeleopRequest(BaseModel):
    skill: str = "pick"
    object: str = "apple"
    target: str = ""
    seed: int = 1000
    dataset: str = "console"  # folder under data/teleop


class KeysRequest(BaseModel):
    keys: str


@dataclass
class _Teleop:
    id: int
    request: TeleopRequest
    state: str = "starting"  # starting | driving | succeeded | failed | error
    status: str = ""
    frame: np.ndarray | None = None
    result: dict[str, Any] | None = None
    keys: queue.Queue = field(default_factory=queue.Queue)
    started: threading.Event = field(default_factory=threading.Event)


def add_teleop_routes(app: FastAPI, root: Path = TELEOP_ROOT) -> None:
    sessions: dict[int, _Teleop] = {}
    ids = itertools.count(1)

    def get(session_id: int) -> _Teleop:
        session = sessions.get(session_id)
        if session is None:
            raise HTTPException(status_code=404, detail=f"no teleop session {session_id}")
        return session

    @app.post("/api/teleop")
    def start(req: TeleopRequest) -> dict[str, Any]:
        if not _DATASET_NAME.match(req.dataset):
            raise HTTPException(status_code=400, detail=f"dataset name {req.dataset!r}: letters, digits, - and _")
        if any(s.state in ("starting", "driving") for s in sessions.values()):
            raise HTTPException(status_code=409, detail="a teleop episode is already running; end it first")
        session = _Teleop(next(ids), req)
        sessions[session.id] = session
        threading.Thread(target=_drive, args=(session, root / req.dataset), daemon=True).start()
        session.started.wait(timeout=60)
        if session.state == "error":
            raise HTTPException(status_code=400, detail=session.status)
        return {"id": session.id, "status": session.status}

    @app.post("/api/teleop/{session_id}/keys")
    def keys(session_id: int, req: KeysRequest) -> dict[str, Any]:
        from hvla.skills.data.teleop import parse_keys

        session = get(session_id)
        if session.state != "driving":
            raise HTTPException(status_code=409, detail=f"teleop session {session_id} is {session.state}")
        try:
            for key in parse_keys(req.keys):
                session.keys.put(key)
        except HvlaError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return {"id": session_id, "queued": session.keys.qsize()}

    @app.post("/api/teleop/{session_id}/end")
    def end(session_id: int) -> dict[str, Any]:
        get(session_id).keys.put(None)
        return {"id": session_id}

    @app.get("/api/teleop/{session_id}")
    def status(session_id: int) -> dict[str, Any]:
        session = get(session_id)
        return {"id": session_id, "state": session.state, "status": session.status, "result": session.result}

    @app.get("/api/teleop/{session_id}/frame.png")
    def frame(session_id: int) -> Response:
        session = get(session_id)
        if session.frame is None:
            raise HTTPException(status_code=404, detail="no frame yet")
        buf = io.BytesIO()
        imageio.imwrite(buf, session.frame, format="png")
        return Response(buf.getvalue(), media_type="image/png")


def _drive(session: _Teleop, dataset: Path) -> None:
    from hvla.skills.teleop import TeleopEpisode, teleop_args, teleop_subgoal

    req = session.request
    try:
        subgoal = teleop_subgoal(req.skill, teleop_args(req.skill, req.object, req.target))
        episode = TeleopEpisode(req.seed, subgoal, cameras=("scene",))
    except HvlaError as exc:
        session.state, session.status = "error", str(exc)
        session.started.set()
        return

    def refresh() -> None:
        session.status = episode.status()
        session.frame = episode.world.observe(("scene",)).frames["scene"].rgb

    refresh()
    session.state = "driving"
    session.started.set()

    def from_queue():
        while (key := session.keys.get()) is not None:
            yield key

    try:
        result = episode.run(from_queue(), dataset, on_tick=refresh)
    except Exception as exc:  # the page must show any failure, not a dead thread
        session.state, session.status = "error", f"{type(exc).__name__}: {exc}"
        return
    session.result = {**result, "dataset": str(dataset)}
    session.state = "succeeded" if result["success"] else "failed"


TELEOP_PAGE = """<h3>teleoperation (records a demonstration)</h3>
<p>skill <select id="tskill"><option>pick</option><option>pick_place</option><option>place</option>
<option>wipe</option></select>
object <input id="tobj" value="apple" style="width:6em"> target <input id="ttgt" value="" style="width:6em">
seed <input id="tseed" type="number" value="1000" style="width:5em">
<button onclick="tstart()">start</button> <button onclick="tend()">end</button></p>
<p>keys while the page has focus: w/s x, a/d y, r/f up/down, q/e yaw, g gripper, . hold (one 10 Hz tick each)</p>
<p id="tstatus"></p><img id="tframe" alt="no teleop frame">
<script>
let tid=null;
async function tpost(url,obj){const r=await fetch(url,{method:'POST',headers:{'Content-Type':'application/json'},
  body:JSON.stringify(obj||{})}); const j=await r.json();
  if(!r.ok){document.getElementById('tstatus').textContent='error: '+j.detail; return null} return j}
async function tstart(){const j=await tpost('/api/teleop',{skill:document.getElementById('tskill').value,
  object:document.getElementById('tobj').value,target:document.getElementById('ttgt').value,
  seed:parseInt(document.getElementById('tseed').value)}); if(j){tid=j.id; tpoll()}}
async function tend(){if(tid) await tpost('/api/teleop/'+tid+'/end')}
document.addEventListener('keydown',e=>{if(tid===null||e.target.tagName==='INPUT') return;
  if('wsadrfqeg.'.includes(e.key.toLowerCase())) tpost('/api/teleop/'+tid+'/keys',{keys:e.key})});
async function tpoll(){const j=await (await fetch('/api/teleop/'+tid)).json();
  document.getElementById('tstatus').textContent=j.state+': '+j.status+(j.result?' '+JSON.stringify(j.result):'');
  document.getElementById('tframe').src='/api/teleop/'+tid+'/frame.png?'+Date.now();
  if(j.state==='starting'||j.state==='driving') setTimeout(tpoll,300); else tid=null}
</script>"""
