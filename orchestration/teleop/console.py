"""Teleoperation in the operator console: drive the hand from the browser's keyboard, record the episode.

The episode runs in a worker thread (the world's OpenGL context lives there) and pulls keys from a
queue that the page fills (`POST /api/teleop/{id}/keys`); the simulation advances one 10 Hz tick per
key, so the operator can take their time. `end` stops it; an episode that meets its skill's success
condition ends by itself. Episodes go into `data/teleop/<dataset>` (LeRobot v3), as from `hvla data teleop`.
The console passes its token check as `dependencies`: every POST here moves the hand or records.
The page's part is `console_page/teleop.js`.
"""

from __future__ import annotations

import io
import itertools
import queue
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.params import Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hvla.core.errors import HvlaError

TELEOP_ROOT = Path("data/teleop")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TeleopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    skill: str = Field(default="pick", max_length=32)
    object: str = Field(default="apple", max_length=64)
    target: str = Field(default="", max_length=64)
    seed: int = Field(default=1000, ge=0, le=2**31 - 1)
    dataset: str = Field(default="console", max_length=64)  # folder under data/teleop


class KeysRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    keys: str = Field(max_length=2000)


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


def add_teleop_routes(app: FastAPI, root: Path = TELEOP_ROOT, dependencies: Sequence[Depends] = ()) -> None:
    """The teleop routes on `app`; `dependencies` guard the POSTs (the console's token check)."""
    guarded = list(dependencies)
    sessions: dict[int, _Teleop] = {}
    ids = itertools.count(1)

    def get(session_id: int) -> _Teleop:
        session = sessions.get(session_id)
        if session is None:
            raise HTTPException(status_code=404, detail=f"no teleop session {session_id}")
        return session

    @app.post("/api/teleop", dependencies=guarded)
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

    @app.post("/api/teleop/{session_id}/keys", dependencies=guarded)
    def keys(session_id: int, req: KeysRequest) -> dict[str, Any]:
        from hvla.orchestration.teleop.keys import parse_keys

        session = get(session_id)
        if session.state != "driving":
            raise HTTPException(status_code=409, detail=f"teleop session {session_id} is {session.state}")
        try:
            for key in parse_keys(req.keys):
                session.keys.put(key)
        except HvlaError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return {"id": session_id, "queued": session.keys.qsize()}

    @app.post("/api/teleop/{session_id}/end", dependencies=guarded)
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
    """The worker: any exception ends the session in `error` with its message (never stuck "starting")."""
    from hvla.orchestration.teleop.episode import TeleopEpisode, teleop_args, teleop_subgoal

    req = session.request
    episode = None
    try:
        subgoal = teleop_subgoal(req.skill, teleop_args(req.skill, req.object, req.target))
        episode = TeleopEpisode(req.seed, subgoal, cameras=("scene",))
        _drive_episode(session, episode, dataset)
    except HvlaError as exc:
        session.state, session.status = "error", str(exc)
    except Exception as exc:  # the page must show any failure, not a dead thread
        session.state, session.status = "error", f"{type(exc).__name__}: {exc}"
    finally:  # its renderer's GL context belongs to this thread: release it here, not in a later GC elsewhere
        if episode is not None:
            episode.world.close()
        session.started.set()


def _drive_episode(session: _Teleop, episode: Any, dataset: Path) -> None:
    def refresh() -> None:
        session.status = episode.status()
        session.frame = episode.world.observe(("scene",)).frames["scene"].rgb

    refresh()
    session.state = "driving"
    session.started.set()

    def from_queue():
        while (key := session.keys.get()) is not None:
            yield key

    result = episode.run(from_queue(), dataset, on_tick=refresh)
    session.result = {**result, "dataset": str(dataset)}
    session.state = "succeeded" if result["success"] else "failed"
