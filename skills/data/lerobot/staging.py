"""The staging area of a dataset being recorded (`<root>/.staging/`): what a killed recorder leaves there.

A recorder keeps the episode it is recording in memory and stages it only once it has ended, so a kill
(SIGKILL, the OOM killer, a power cut) leaves this folder in one of a few states, all of them readable:

    writer.journal          the writer's settings (features, robot type, ...) and owner (pid, host), JSON
    recording.journal       what `hvla data record` was asked for (`--resume` replays it), JSON
    <uid>.started           an episode began: the recording process (pid, host); deleted once it is committed
    <uid>.parquet           its frames, written whole (temporary name, fsync, rename) ...
    <uid>.<video key>.mp4   ... its camera streams, written the same way ...
    <uid>.json              ... and last its commit marker: with it the episode is complete
    .<name>.XXXXXXXX        a temporary file whose write was cut off

An episode with its marker is complete and is kept by `hvla data repair` and by the next `finalise`;
anything else of an episode (a `.started` alone, frames without a marker, a temporary file) belongs to
the one that was being recorded when the process died, and is dropped once that process is gone.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hvla.core.errors import DatasetError
from hvla.core.files import atomic_write_bytes
from hvla.core.owner import Owner

WRITER_JOURNAL = "writer.journal"
RECORDING_JOURNAL = "recording.journal"
JOURNALS = (WRITER_JOURNAL, RECORDING_JOURNAL)
STARTED = ".started"
_EPISODE_FILE = re.compile(r"^(?P<uid>.+?)\.(?P<kind>json|parquet|started|observation\.images\.[^/]+\.mp4)$")
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}$")  # atomic_write_bytes: mkstemp(prefix=".<name>.")


def write_journal(staging: Path, name: str, content: dict[str, Any]) -> None:
    atomic_write_bytes(Path(staging) / name, (json.dumps(content, indent=1, default=str) + "\n").encode())


def read_journal(staging: Path, name: str) -> dict[str, Any] | None:
    """A journal's content, or None when it was never written."""
    path = Path(staging) / name
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"unreadable journal {path}: {exc}") from None


def mark_started(staging: Path, uid: str) -> None:
    """Say, before recording `uid`, which process records it: a kill then leaves a named, dead owner."""
    write_journal(staging, uid + STARTED, {"uid": uid, "owner": Owner.current().to_json(), "wall_s": time.time()})


@dataclass(frozen=True)
class PartialEpisode:
    """What is left of an episode that never got its commit marker."""

    uid: str
    files: tuple[Path, ...]
    frames: int | None  # rows of its staged parquet (written whole), None when it was not written
    owner: Owner | None  # the process that recorded it (from `<uid>.started`), None when unrecorded

    @property
    def alive(self) -> bool | None:
        """Whether its recorder still runs (then it is not partial but in progress)."""
        return self.owner.alive() if self.owner is not None else None

    def describe(self) -> str:
        who = f" by {self.owner.describe()}" if self.owner is not None else ""
        if self.frames is None:
            held = "no frames on disk (a recorder holds an episode in memory until it ends)"
        else:
            held = f"{self.frames} frames staged without their commit marker"
        names = ", ".join(sorted(p.name for p in self.files))
        return f"{self.uid}: recording{who} stopped before it was complete; {held} [{names}]"


def episode_uid(name: str) -> str | None:
    """The episode a staging file belongs to (temporary files included), or None for a journal."""
    temporary = _TEMPORARY.match(name)
    base = temporary.group("name") if temporary else name
    if base in JOURNALS:
        return None
    match = _EPISODE_FILE.match(base)
    return match.group("uid") if match else None


def committed_markers(staging: Path) -> list[Path]:
    """The commit markers (`<uid>.json`) in the staging area, by name."""
    return sorted(Path(staging).glob("*.json"))


def partial_episodes(staging: Path) -> list[PartialEpisode]:
    """Every episode with files in `staging` but no commit marker."""
    staging = Path(staging)
    if not staging.is_dir():
        return []
    complete = {p.stem for p in committed_markers(staging)}
    files: dict[str, list[Path]] = {}
    for path in sorted(staging.iterdir()):
        uid = episode_uid(path.name)
        if uid is not None and uid not in complete:
            files.setdefault(uid, []).append(path)
    out = []
    for uid, paths in files.items():
        started = read_journal(staging, uid + STARTED) if (staging / (uid + STARTED)).exists() else None
        parquet = staging / f"{uid}.parquet"
        frames = None
        if parquet in paths:
            try:
                frames = pq.ParquetFile(parquet).metadata.num_rows
            except (OSError, pa.ArrowException):
                frames = None
        out.append(PartialEpisode(uid, tuple(paths), frames, Owner.from_json((started or {}).get("owner"))))
    return out


def stray_files(staging: Path) -> list[Path]:
    """Temporary files of a write that was cut off, belonging to a complete episode or to a journal."""
    staging = Path(staging)
    if not staging.is_dir():
        return []
    complete = {p.stem for p in committed_markers(staging)}
    return [p for p in sorted(staging.iterdir())
            if _TEMPORARY.match(p.name) and (episode_uid(p.name) is None or episode_uid(p.name) in complete)]


def drop_partial(episode: PartialEpisode) -> None:
    for path in episode.files:
        path.unlink(missing_ok=True)
