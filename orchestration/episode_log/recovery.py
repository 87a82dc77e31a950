"""Is a "running" log still being written? The writer's heartbeat and liveness, as the reader judges them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hvla.core.owner import Owner
from hvla.orchestration.episode_log.schema import INTERRUPTED, RUNNING, STALE_S


def last_write_wall_s(path: Path | str) -> float:
    """When the episode was last written: its status, its events or its steps folder (a new step renames a
    file into it), whichever is newest. At 10 Hz this is the writer's heartbeat."""
    path = Path(path)
    times = [p.stat().st_mtime for p in (path / "status.json", path / "events.jsonl", path / "steps") if p.exists()]
    return max(times, default=(path / "meta.json").stat().st_mtime)


def reported_state(path: Path | str, status: Mapping[str, Any]) -> tuple[str, str | None]:
    """(state, error) of an episode folder from its status.json: "running" turns "interrupted" once the
    writer is known to be gone (or, when it cannot be asked, after `STALE_S` without a write)."""
    state = status.get("state", RUNNING)
    if state != RUNNING:
        return state, status.get("error")
    owner = Owner.from_json(status.get("owner"))
    alive = owner.alive() if owner is not None else None
    if alive:
        return RUNNING, None
    last = last_write_wall_s(path)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
    if alive is False:
        return INTERRUPTED, f"its writer ({owner.describe()}) died without finishing; last write {when}"
    quiet_s = time.time() - last
    if quiet_s <= STALE_S:
        return RUNNING, None
    who = f"its writer ({owner.describe()}) is on another host" if owner is not None else "no writer recorded"
    return INTERRUPTED, f"not finished and not written for {quiet_s:.0f} s (last write {when}; {who})"
