"""Recording into a LeRobot v3 dataset: episodes are staged one by one, then committed together.

- A finished episode is *staged*: `.staging/<uid>.parquet` (+ one mp4 per camera), then `<uid>.json`,
  each written to a temporary name, fsynced and renamed; the json is the episode's commit marker.
- `finalise` commits every staged episode at once (`commit.py`: new files beside the old, meta rebuilt
  in `.next/` and swapped in).
- Resuming = opening the same root again: committed and staged episode uids are skipped by the
  recorder, and the next `finalise` appends the staged episodes in new data files.
- A killed recorder (its `finalise` never ran) leaves staged episodes and at most the one it was
  recording in memory: the writer journals its settings and owner, and each episode its recording
  process (`staging.py`), so `hvla data repair` (`repair.py`) can commit the complete ones and drop
  the rest, and `hvla data record --resume` can carry on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from numpy.typing import NDArray

from hvla.core.errors import DatasetError
from hvla.core.files import atomic_write_bytes
from hvla.core.owner import Owner
from hvla.skills.data import schema
from hvla.skills.data.lerobot import staging, stats
from hvla.skills.data.lerobot.commit import commit_staged, recover_interrupted_commit
from hvla.skills.data.lerobot.schema import (
    CHUNK_KEY,
    EXECUTED_KEY,
    LAYOUT_CHUNK,
    LAYOUT_PREFIXED,
    action_layout,
    arrow_column,
    committed_episodes,
    dataset_features,
    frame_columns,
    read_info,
    video_keys,
    write_json,
    write_parquet,
)


@dataclass
class EpisodeRecord:
    """One finished episode as the recorder hands it over."""

    uid: str  # unique and stable across resumes, e.g. "pick-banana-s000123"
    task: str  # the task in words, as a LeRobot policy is prompted, e.g. "pick up the banana"
    columns: dict[str, NDArray]  # frame column -> (T, ...) array
    meta: dict[str, Any] = field(default_factory=dict)  # "hvla/..." fields: JSON-able scalars and lists
    videos: dict[str, Path] = field(default_factory=dict)  # video key -> mp4 of this episode alone

    @property
    def length(self) -> int:
        return len(next(iter(self.columns.values())))


class DatasetWriter:
    """Stages finished episodes and commits them into a LeRobot v3 dataset at `root`.

    Opening an existing root resumes it (an interrupted commit is rolled forward or back first).
    `features` replaces the ones `cameras` and `image_hw` make: `hvla data repair` commits what a killed
    writer staged with that writer's own.
    """

    def __init__(
        self, root: Path, cameras: Sequence[str] = (), image_hw: tuple[int, int] = (128, 128),
        max_file_mb: float = 64.0, robot_type: str = "franka_panda", extra_info: dict | None = None,
        recover: bool = True, features: dict[str, dict] | None = None,
    ) -> None:
        self.root = Path(root)
        self.features = features if features is not None else dataset_features(cameras, image_hw)
        self.max_file_mb = max_file_mb
        self.robot_type = robot_type
        self.extra_info = dict(extra_info or {})
        self.staging = self.root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        if not recover:
            return  # a worker process staging episodes while its parent owns the dataset
        recover_interrupted_commit(self.root)
        if (self.root / "meta" / "info.json").exists():
            info = read_info(self.root)
            if video_keys(info["features"]) != video_keys(self.features):
                raise DatasetError(
                    f"{self.root}: recorded with cameras {video_keys(info['features'])}, resumed with "
                    f"{video_keys(self.features)}; use the same --cameras or a new --out"
                )
            layout = action_layout(info["features"], self.root)
            if layout != action_layout(self.features, self.root):
                before = {
                    LAYOUT_CHUNK: f"with `action` as {schema.CHUNK_DIM}-number label chunks, before it became one "
                                  "action per frame",
                    LAYOUT_PREFIXED: f"with its chunks in `action.chunk` and `action.executed`, before they moved to "
                                     f"`{CHUNK_KEY}` and `{EXECUTED_KEY}` (LeRobot takes every `action*` key for an "
                                     "action)",
                }.get(layout, f"in the {layout!r} layout")
                raise DatasetError(f"{self.root} was recorded {before}; new episodes cannot join it: record into a "
                                   "new --out (hvla trains on both together)")
        # What `hvla data repair` needs to commit what this writer staged, should its process be killed.
        staging.write_journal(self.staging, staging.WRITER_JOURNAL, {
            "owner": Owner.current().to_json(), "features": self.features, "max_file_mb": self.max_file_mb,
            "robot_type": self.robot_type, "extra_info": self.extra_info,
        })

    # -- staging --
    def done_uids(self) -> set[str]:
        """Episodes already committed or staged: a resumed recording skips them."""
        return recorded_uids(self.root)

    def begin(self, uid: str) -> None:
        """Journal that this process starts recording `uid` (a kill then leaves it named as partial)."""
        staging.mark_started(self.staging, uid)

    def discard(self, uid: str) -> None:
        """Forget a begun episode that ended without data (its scene failed): it is not partial."""
        (self.staging / (uid + staging.STARTED)).unlink(missing_ok=True)

    def stage(self, episode: EpisodeRecord) -> None:
        """Write one finished episode to the staging area (atomic; the json marker goes last)."""
        if not (self.staging / (episode.uid + staging.STARTED)).exists():
            self.begin(episode.uid)
        cols = frame_columns(self.features)
        missing = [c for c in cols if c not in episode.columns]
        if missing:
            raise DatasetError(f"episode {episode.uid}: missing columns {missing}")
        lengths = {c: len(episode.columns[c]) for c in cols}
        if len(set(lengths.values())) != 1 or episode.length == 0:
            raise DatasetError(f"episode {episode.uid}: column lengths differ or are zero: {lengths}")
        table = pa.table({c: arrow_column(episode.columns[c], self.features[c]) for c in cols})
        write_parquet(self.staging / f"{episode.uid}.parquet", table)
        videos, image_stats = {}, {}
        for key in video_keys(self.features):
            if key not in episode.videos:
                raise DatasetError(f"episode {episode.uid}: no video for {key}")
            dest = self.staging / f"{episode.uid}.{key}.mp4"
            atomic_write_bytes(dest, Path(episode.videos[key]).read_bytes())
            videos[key] = dest.name
            # Decoded here, in the recording worker, not by the one process that commits every episode.
            image_stats[key] = stats.as_json(stats.video_stats(dest, episode.length))
        marker = {"uid": episode.uid, "task": episode.task, "length": episode.length, "meta": episode.meta,
                  "videos": videos, "image_stats": image_stats}
        write_json(self.staging / f"{episode.uid}.json", marker)

    # -- commit --
    def finalise(self) -> dict[str, Any]:
        """Append every staged episode to the dataset; returns the new info.json content."""
        recover_interrupted_commit(self.root)
        committed = committed_episodes(self.root)
        known = {row["hvla/uid"] for row in committed}
        markers = sorted(self.staging.glob("*.json"))
        staged = []
        for marker in markers:
            entry = json.loads(marker.read_text())
            if entry["uid"] in known:
                continue  # committed by a commit that crashed before cleaning the staging area
            staged.append(entry)
        info = commit_staged(self.root, committed, staged, self.staging, self.features, self.max_file_mb,
                       self.robot_type, self.extra_info)
        for marker in markers:
            uid = marker.stem
            for path in self.staging.glob(f"{uid}.*"):
                path.unlink(missing_ok=True)
        for partial in staging.partial_episodes(self.staging):
            if partial.alive is not True and partial.owner != Owner.current():
                staging.drop_partial(partial)  # left by a recorder killed earlier: it will never complete
        return info


def recorded_uids(root: Path) -> set[str]:
    """Episodes of `root` committed or staged (complete): a resumed recording skips them."""
    root = Path(root)
    return {row["hvla/uid"] for row in committed_episodes(root)} | {
        p.stem for p in staging.committed_markers(root / ".staging")}


def unfinalised_uids(root: Path) -> list[str]:
    """Complete episodes staged in `root` but not committed (a recorder stopped before its `finalise`)."""
    root = Path(root)
    committed = {row["hvla/uid"] for row in committed_episodes(root)} if not (root / ".next").exists() else set()
    return [p.stem for p in staging.committed_markers(root / ".staging") if p.stem not in committed]
