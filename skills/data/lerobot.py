"""Datasets in the LeRobotDataset v3 layout, written with pyarrow alone, crash-safe and resumable.

    <root>/meta/info.json                               features, fps, paths, totals (the commit point)
    <root>/meta/stats.json                              per feature min/max/mean/std/count/q01..q99 (stats.py)
    <root>/meta/tasks.parquet                           task string (pandas index) -> task_index
    <root>/meta/episodes/chunk-000/file-000.parquet     one row per episode: length, file, frame range, stats
    <root>/data/chunk-000/file-000.parquet              frames of many episodes, on an exact 1/fps grid
    <root>/videos/<key>/chunk-000/file-000.mp4          optional camera streams, episodes back to back

How a crash never leaves a truncated or half-committed dataset:
- A finished episode is *staged*: `.staging/<uid>.parquet` (+ one mp4 per camera), then `<uid>.json`,
  each written to a temporary name, fsynced and renamed; the json is the episode's commit marker.
- `finalise` writes new video files next to the old ones, then builds the complete new `data/` and
  `meta/` in `.next/` (old data files are hard-linked, not copied), marks it COMPLETE and swaps the two
  folders in. A crash before COMPLETE leaves the old dataset; after it, the next open rolls forward.
- Resuming = opening the same root again: committed and staged episode uids are skipped by the
  recorder, and the next `finalise` appends the staged episodes in new data files.
- A killed recorder (its `finalise` never ran) leaves staged episodes and at most the one it was
  recording in memory: the writer journals its settings and owner, and each episode its recording
  process (`staging.py`), so `hvla data repair` (`recovery.py`) can commit the complete ones and drop
  the rest, and `hvla data record --resume` can carry on.

Loading checks every referenced file (exists, parses, row counts, frame grid, finite values) and
raises `DatasetError` naming the damaged file; `repair_dataset` drops the damaged episodes and
re-indexes the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from hvla.core.errors import DatasetError
from hvla.core.files import atomic_write_bytes
from hvla.core.owner import Owner
from hvla.skills.data import lerobot_stats, schema, staging

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder, as LeRobot
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
IMAGE_PREFIX = "observation.images."


# --- features -------------------------------------------------------------------------------
def dataset_features(cameras: Sequence[str] = (), image_hw: tuple[int, int] = (128, 128)) -> dict[str, dict]:
    """The `features` block of info.json: the LeRobot index columns, hvla's frame columns, videos."""
    scalar = {"shape": [1], "names": None}
    feats: dict[str, dict] = {
        "timestamp": {"dtype": "float32", **scalar},
        "frame_index": {"dtype": "int64", **scalar},
        "episode_index": {"dtype": "int64", **scalar},
        "index": {"dtype": "int64", **scalar},
        "task_index": {"dtype": "int64", **scalar},
        "observation.state": {"dtype": "float32", "shape": [schema.STATE_DIM], "names": list(schema.STATE_NAMES)},
        "observation.environment_state": {
            "dtype": "float32", "shape": [schema.N_SLOTS * schema.TOKEN_DIM], "names": schema.token_names(),
        },
        "action": {"dtype": "float32", "shape": [schema.ACTION_DIM], "names": schema.action_names()},
        "action.executed": {"dtype": "float32", "shape": [schema.ACTION_DIM], "names": schema.action_names()},
        "expert.phase": {"dtype": "int64", **scalar},
        "noise.active": {"dtype": "bool", **scalar},
        "is_recovery": {"dtype": "bool", **scalar},
        "next.success": {"dtype": "bool", **scalar},
        "next.done": {"dtype": "bool", **scalar},
    }
    h, w = image_hw
    for cam in cameras:
        feats[IMAGE_PREFIX + cam] = {
            "dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"],
            "info": {
                "video.height": h, "video.width": w, "video.codec": "h264", "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False, "video.fps": schema.FPS, "video.channels": 3, "has_audio": False,
            },
        }
    return feats


def frame_columns(features: dict[str, dict]) -> list[str]:
    """Per-frame parquet columns an episode supplies (index columns are assigned at commit)."""
    return [k for k, v in features.items() if v["dtype"] != "video" and k not in INDEX_COLUMNS]


def video_keys(features: dict[str, dict]) -> list[str]:
    return [k for k, v in features.items() if v["dtype"] == "video"]


_ARROW = {"float32": pa.float32(), "int64": pa.int64(), "bool": pa.bool_()}


def _arrow_column(values: NDArray, spec: dict) -> pa.Array:
    kind = _ARROW[spec["dtype"]]
    dim = int(np.prod(spec["shape"]))
    if dim == 1:
        return pa.array(np.asarray(values).reshape(-1).astype(kind.to_pandas_dtype()), type=kind)
    flat = np.asarray(values, dtype=kind.to_pandas_dtype()).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=kind), dim)


def _numpy_column(column: pa.ChunkedArray | pa.Array, spec: dict) -> NDArray:
    dim = int(np.prod(spec["shape"]))
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if dim == 1:
        return arr.to_numpy(zero_copy_only=False)
    return arr.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)


# --- episodes ---------------------------------------------------------------------------------
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


def _write_parquet(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- writer -----------------------------------------------------------------------------------
class DatasetWriter:
    """Stages finished episodes and commits them into a LeRobot v3 dataset at `root`.

    Opening an existing root resumes it (an interrupted commit is rolled forward or back first).
    """

    def __init__(
        self, root: Path, cameras: Sequence[str] = (), image_hw: tuple[int, int] = (128, 128),
        max_file_mb: float = 64.0, robot_type: str = "franka_panda", extra_info: dict | None = None,
        recover: bool = True,
    ) -> None:
        self.root = Path(root)
        self.features = dataset_features(cameras, image_hw)
        self.max_file_mb = max_file_mb
        self.robot_type = robot_type
        self.extra_info = dict(extra_info or {})
        self.staging = self.root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        if not recover:
            return  # a worker process staging episodes while its parent owns the dataset
        recover_interrupted_commit(self.root)
        if (self.root / "meta" / "info.json").exists():
            info = _read_info(self.root)
            if video_keys(info["features"]) != video_keys(self.features):
                raise DatasetError(
                    f"{self.root}: recorded with cameras {video_keys(info['features'])}, resumed with "
                    f"{video_keys(self.features)}; use the same --cameras or a new --out"
                )
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
        table = pa.table({c: _arrow_column(episode.columns[c], self.features[c]) for c in cols})
        _write_parquet(self.staging / f"{episode.uid}.parquet", table)
        videos, image_stats = {}, {}
        for key in video_keys(self.features):
            if key not in episode.videos:
                raise DatasetError(f"episode {episode.uid}: no video for {key}")
            dest = self.staging / f"{episode.uid}.{key}.mp4"
            atomic_write_bytes(dest, Path(episode.videos[key]).read_bytes())
            videos[key] = dest.name
            # Decoded here, in the recording worker, not by the one process that commits every episode.
            image_stats[key] = lerobot_stats.as_json(lerobot_stats.video_stats(dest, episode.length))
        marker = {"uid": episode.uid, "task": episode.task, "length": episode.length, "meta": episode.meta,
                  "videos": videos, "image_stats": image_stats}
        _write_json(self.staging / f"{episode.uid}.json", marker)

    # -- commit --
    def finalise(self) -> dict[str, Any]:
        """Append every staged episode to the dataset; returns the new info.json content."""
        recover_interrupted_commit(self.root)
        committed = _committed_episodes(self.root)
        known = {row["hvla/uid"] for row in committed}
        markers = sorted(self.staging.glob("*.json"))
        staged = []
        for marker in markers:
            entry = json.loads(marker.read_text())
            if entry["uid"] in known:
                continue  # committed by a commit that crashed before cleaning the staging area
            staged.append(entry)
        info = _commit(self.root, committed, staged, self.staging, self.features, self.max_file_mb,
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
    return {row["hvla/uid"] for row in _committed_episodes(root)} | {
        p.stem for p in staging.committed_markers(root / ".staging")}


def unfinalised_uids(root: Path) -> list[str]:
    """Complete episodes staged in `root` but not committed (a recorder stopped before its `finalise`)."""
    root = Path(root)
    committed = {row["hvla/uid"] for row in _committed_episodes(root)} if not (root / ".next").exists() else set()
    return [p.stem for p in staging.committed_markers(root / ".staging") if p.stem not in committed]


def _read_info(root: Path) -> dict[str, Any]:
    path = root / "meta" / "info.json"
    if not path.exists():
        staged = len(staging.committed_markers(root / ".staging"))
        if staged or (root / ".next").exists() or staging.partial_episodes(root / ".staging"):
            resume = (f", or continue it with `hvla data record --resume --out {root}`"
                      if (root / ".staging" / staging.RECORDING_JOURNAL).exists() else "")
            raise DatasetError(
                f"{root} is an interrupted recording, never finalised ({staged} complete episode(s) staged, no "
                f"{path}): finalise it with `hvla data repair {root}`{resume}")
        raise DatasetError(f"missing {path}: {root} is not a dataset (record one with `hvla data record --skill SKILL "
                           f"--out {root}`)")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"unreadable {path}: {exc}") from None
    for key in ("codebase_version", "fps", "features", "total_episodes", "total_frames", "data_path"):
        if key not in info:
            raise DatasetError(f"{path} lacks '{key}'")
    return info


def _read_table(path: Path, what: str) -> pa.Table:
    if not path.exists():
        raise DatasetError(f"missing {what} file {path}")
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"truncated or corrupt {what} file {path}: {exc}") from None


def _committed_episodes(root: Path) -> list[dict[str, Any]]:
    """Rows of meta/episodes that info.json commits (rows past total_episodes are ignored)."""
    if not (root / "meta" / "info.json").exists():
        return []
    info = _read_info(root)
    rows = _read_table(root / EPISODES_PATH, "episodes metadata").to_pylist()
    return [r for r in rows if r["episode_index"] < info["total_episodes"]]


def recover_interrupted_commit(root: Path) -> None:
    """Roll a commit forward (its new folders are complete) or back (they are not)."""
    nxt, old = root / ".next", root / ".old"
    if nxt.exists() and (nxt / "COMPLETE").exists():
        for name in ("data", "meta"):
            if (nxt / name).exists():
                if (root / name).exists() and not (old / name).exists():
                    old.mkdir(exist_ok=True)
                    os.replace(root / name, old / name)
                elif (root / name).exists():
                    shutil.rmtree(root / name)
                os.replace(nxt / name, root / name)
    if nxt.exists():
        shutil.rmtree(nxt)
    if old.exists():
        shutil.rmtree(old)


def _commit(
    root: Path, committed: list[dict], staged: list[dict], staging: Path, features: dict,
    max_file_mb: float, robot_type: str, extra_info: dict,
) -> dict[str, Any]:
    """Write the dataset made of `committed` episode rows plus `staged` episodes, then swap it in."""
    nxt = root / ".next"
    if nxt.exists():
        shutil.rmtree(nxt)
    (nxt / "data").mkdir(parents=True)
    # Old data files stay as they are (hard links: no copy, and the old dataset is untouched).
    for row in committed:
        rel = DATA_PATH.format(chunk_index=row["data/chunk_index"], file_index=row["data/file_index"])
        dest = nxt / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(root / rel, dest)
    tasks = _task_table(committed, staged)
    total_frames = sum(int(r["length"]) for r in committed)
    next_file = 1 + max([_file_number(r["data/chunk_index"], r["data/file_index"]) for r in committed], default=-1)
    next_file = max(next_file, _next_free_file(root / "data"))
    rows = [dict(r) for r in committed]
    groups = _size_groups(staged, staging, max_file_mb)
    video_rows = _write_videos(root, staged, staging, features, max_file_mb)
    for group in groups:
        chunk, file = divmod(next_file, CHUNKS_SIZE)
        tables = []
        for entry in group:
            table = pq.read_table(staging / f"{entry['uid']}.parquet")
            n = table.num_rows
            ep_index = len(rows)
            index = pa.table({
                "timestamp": pa.array(np.arange(n, dtype=np.float32) / np.float32(schema.FPS), pa.float32()),
                "frame_index": pa.array(np.arange(n), pa.int64()),
                "episode_index": pa.array(np.full(n, ep_index), pa.int64()),
                "index": pa.array(np.arange(total_frames, total_frames + n), pa.int64()),
                "task_index": pa.array(np.full(n, tasks[entry["task"]]), pa.int64()),
            })
            for name in table.column_names:
                index = index.append_column(name, table.column(name))
            tables.append(index)
            row = _episode_row(entry, ep_index, chunk, file, total_frames, index, features,
                               video_rows.get(entry["uid"], {}))
            rows.append({**row, **_image_stats_columns(entry, staging, features)})
            total_frames += n
        _write_parquet(nxt / DATA_PATH.format(chunk_index=chunk, file_index=file), pa.concat_tables(tables))
        next_file += 1
    return _write_meta_and_swap(root, rows, tasks, features, robot_type, extra_info)


def _write_meta_and_swap(
    root: Path, rows: list[dict], tasks: dict[str, int], features: dict, robot_type: str, extra_info: dict
) -> dict[str, Any]:
    nxt = root / ".next"
    total_frames = sum(int(r["length"]) for r in rows)
    for r in rows:
        r["meta/episodes/chunk_index"], r["meta/episodes/file_index"] = 0, 0
    _write_parquet(nxt / EPISODES_PATH, _rows_table(rows))
    _write_parquet(nxt / "meta" / "tasks.parquet", _tasks_parquet(tasks))
    _write_json(nxt / "meta" / "stats.json", _aggregate_stats(rows, features))
    has_video = bool(video_keys(features))
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(rows),
        "total_frames": total_frames,
        "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": schema.FPS,
        "splits": {"train": f"0:{len(rows)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "features": features,
        "hvla": {"chunk_k": schema.CHUNK_K, "n_slots": schema.N_SLOTS, "token_fields": list(schema.TOKEN_FIELDS),
                 "categories": list(schema.CATEGORIES), **extra_info},
    }
    _write_json(nxt / "meta" / "info.json", info)
    atomic_write_bytes(nxt / "COMPLETE", b"ok\n")
    recover_interrupted_commit(root)  # the swap itself: the same code a crashed run uses to roll forward
    _collect_garbage(root, rows, features)
    return info


def _rows_table(rows: list[dict]) -> pa.Table:
    """Column by column over the union of keys (from_pylist would take the first row's keys only)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return pa.table({k: pa.array([r.get(k) for r in rows]) for k in keys}) if rows else pa.table({})


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _file_number(chunk: int, file: int) -> int:
    return int(chunk) * CHUNKS_SIZE + int(file)


def _next_free_file(folder: Path) -> int:
    """One past every data file on disk, referenced or not: a crashed commit's files are never reused."""
    numbers = [-1]
    for path in folder.glob("chunk-*/file-*.parquet"):
        with contextlib.suppress(ValueError):
            numbers.append(_file_number(int(path.parent.name[6:]), int(path.stem[5:])))
    return max(numbers) + 1


def _size_groups(staged: list[dict], staging: Path, max_file_mb: float) -> list[list[dict]]:
    groups: list[list[dict]] = []
    size = 0.0
    for entry in sorted(staged, key=lambda e: e["uid"]):
        mb = (staging / f"{entry['uid']}.parquet").stat().st_size / 1e6
        if not groups or size + mb > max_file_mb:
            groups.append([])
            size = 0.0
        groups[-1].append(entry)
        size += mb
    return groups


def _task_table(committed: list[dict], staged: list[dict]) -> dict[str, int]:
    tasks: dict[str, int] = {}
    for r in committed:
        for t in r["tasks"]:
            tasks.setdefault(t, len(tasks))
    for e in sorted(staged, key=lambda e: e["uid"]):
        tasks.setdefault(e["task"], len(tasks))
    return tasks


def _tasks_parquet(tasks: dict[str, int]) -> pa.Table:
    """task_index with the task string as the (pandas) index, as LeRobot reads it."""
    table = pa.table({"task_index": pa.array(list(tasks.values()), pa.int64()), "task": pa.array(list(tasks))})
    pandas_meta = {
        "index_columns": ["task"], "column_indexes": [],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
             "metadata": None},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object",
             "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.0",
    }
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})


def _episode_row(
    entry: dict, ep_index: int, chunk: int, file: int, start: int, table: pa.Table, features: dict, videos: dict
) -> dict[str, Any]:
    n = table.num_rows
    row: dict[str, Any] = {
        "episode_index": ep_index, "tasks": [entry["task"]], "length": n,
        "data/chunk_index": chunk, "data/file_index": file,
        "dataset_from_index": start, "dataset_to_index": start + n,
        **videos,
        "hvla/uid": entry["uid"],
    }
    for key, value in entry["meta"].items():
        row[key if key.startswith("hvla/") else f"hvla/{key}"] = value
    return {**row, **_numeric_stats_columns(table, features)}


def _numeric_stats_columns(table: pa.Table, features: dict) -> dict[str, list]:
    """`stats/<feature>/<stat>` of every numeric column of one episode's frames (LeRobot's episode stats)."""
    out = {}
    for name, spec in features.items():
        if spec["dtype"] in ("float32", "int64", "bool") and name in table.column_names:
            values = _numpy_column(table.column(name), spec).astype(np.float64).reshape(table.num_rows, -1)
            for stat, value in lerobot_stats.as_json(lerobot_stats.feature_stats(values)).items():
                out[f"stats/{name}/{stat}"] = value
    return out


def _image_stats_columns(entry: dict, staging: Path, features: dict) -> dict[str, list]:
    """`stats/<camera>/<stat>` of a staged episode: from its marker, else (staged before markers held
    them) decoded from its staged mp4."""
    out = {}
    for key in video_keys(features):
        stats = (entry.get("image_stats") or {}).get(key)
        if stats is None:
            stats = lerobot_stats.as_json(lerobot_stats.video_stats(staging / entry["videos"][key], entry["length"]))
        out.update({f"stats/{key}/{stat}": value for stat, value in stats.items()})
    return out


def _aggregate_stats(rows: list[dict], features: dict) -> dict[str, dict[str, list]]:
    """Dataset stats from per-episode stats, as LeRobot aggregates them (`lerobot_stats.aggregate`)."""
    out = {}
    for name in features:
        # Episodes committed before a stat was written lack it (their row holds None): a camera's stats,
        # or quantiles, then appear once every episode has them.
        if not rows or any(r.get(f"stats/{name}/mean") is None for r in rows):
            continue
        per_episode = [{stat: r[f"stats/{name}/{stat}"] for stat in lerobot_stats.STAT_KEYS
                        if r.get(f"stats/{name}/{stat}") is not None} for r in rows]
        out[name] = lerobot_stats.as_json(lerobot_stats.aggregate(per_episode))
    return out


def _write_videos(
    root: Path, staged: list[dict], staging: Path, features: dict, max_file_mb: float
) -> dict[str, dict[str, Any]]:
    """Concatenate staged per-episode mp4s into new video files; per-episode columns by uid."""
    out: dict[str, dict[str, Any]] = {e["uid"]: {} for e in staged}
    for key in video_keys(features):
        folder = root / "videos" / key
        next_file = _next_free_video(folder)
        groups = _size_groups_video(staged, staging, key, max_file_mb * 3)
        for group in groups:
            chunk, file = divmod(next_file, CHUNKS_SIZE)
            dest = root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
            _concat_mp4([staging / e["videos"][key] for e in group], dest)
            t = 0.0
            for e in group:
                duration = e["length"] / schema.FPS
                out[e["uid"]].update({
                    f"videos/{key}/chunk_index": chunk, f"videos/{key}/file_index": file,
                    f"videos/{key}/from_timestamp": t, f"videos/{key}/to_timestamp": t + duration,
                })
                t += duration
            next_file += 1
    return out


def _next_free_video(folder: Path) -> int:
    numbers = [-1]
    for path in folder.glob("chunk-*/file-*.mp4"):
        with contextlib.suppress(ValueError):
            numbers.append(_file_number(int(path.parent.name[6:]), int(path.stem[5:])))
    return max(numbers) + 1


def _size_groups_video(staged: list[dict], staging: Path, key: str, max_mb: float) -> list[list[dict]]:
    groups: list[list[dict]] = []
    size = 0.0
    for e in sorted(staged, key=lambda e: e["uid"]):
        mb = (staging / e["videos"][key]).stat().st_size / 1e6
        if not groups or size + mb > max_mb:
            groups.append([])
            size = 0.0
        groups[-1].append(e)
        size += mb
    return groups


def _concat_mp4(parts: list[Path], dest: Path) -> None:
    """Episodes back to back without re-encoding (ffmpeg's concat demuxer), written atomically."""
    import imageio_ffmpeg

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}.mp4")
    listing = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}.txt")
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in parts))
    try:
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
               str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DatasetError(f"ffmpeg could not concatenate videos into {dest}: {done.stderr.strip()[-300:]}")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    finally:
        listing.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _collect_garbage(root: Path, rows: list[dict], features: dict) -> None:
    """Delete data and video files no committed episode references (left by a crash or a repair)."""
    keep = {root / DATA_PATH.format(chunk_index=r["data/chunk_index"], file_index=r["data/file_index"])
            for r in rows}
    for key in video_keys(features):
        keep |= {root / VIDEO_PATH.format(video_key=key, chunk_index=r[f"videos/{key}/chunk_index"],
                                          file_index=r[f"videos/{key}/file_index"]) for r in rows}
    for pattern in ("data/chunk-*/file-*.parquet", "videos/*/chunk-*/file-*.mp4"):
        for path in root.glob(pattern):
            if path not in keep:
                path.unlink()


# --- reading and checking ---------------------------------------------------------------------
@dataclass
class Dataset:
    """A loaded dataset: per-frame columns as numpy arrays, one metadata dict per episode."""

    root: Path
    info: dict[str, Any]
    tasks: list[str]
    episodes: list[dict[str, Any]]
    columns: dict[str, NDArray]

    @property
    def num_frames(self) -> int:
        return int(self.info["total_frames"])

    def frames(self, episode: int) -> slice:
        """Row range of `episode` in `columns` (rows are in episode order)."""
        row = self.episodes[episode]
        return slice(int(row["dataset_from_index"]), int(row["dataset_to_index"]))

    def video_path(self, episode: int, key: str) -> Path:
        row = self.episodes[episode]
        return self.root / VIDEO_PATH.format(video_key=key, chunk_index=row[f"videos/{key}/chunk_index"],
                                             file_index=row[f"videos/{key}/file_index"])


@dataclass(frozen=True)
class Damage:
    episodes: tuple[int, ...]  # episode indices affected
    path: Path  # the file at fault
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason} (episodes {list(self.episodes)})"


def check_dataset(root: Path, deep_video: bool = False) -> list[Damage]:
    """Every problem found, by file. Raises DatasetError only when the metadata itself is unusable."""
    root = Path(root)
    if (root / ".next").exists() or (root / ".old").exists():
        raise DatasetError(f"{root}: a commit was interrupted; `hvla data repair {root}` completes or undoes it")
    info = _read_info(root)
    _read_table(root / "meta" / "tasks.parquet", "tasks")
    rows = _committed_episodes(root)
    if len(rows) != info["total_episodes"]:
        raise DatasetError(f"{root / EPISODES_PATH}: {len(rows)} episodes, info.json says {info['total_episodes']}")
    damage: list[Damage] = []
    by_file: dict[Path, list[dict]] = {}
    for r in rows:
        by_file.setdefault(root / DATA_PATH.format(chunk_index=r["data/chunk_index"],
                                                   file_index=r["data/file_index"]), []).append(r)
    features = info["features"]
    for path, eps in sorted(by_file.items()):
        damage += _check_data_file(path, eps, features, float(info["fps"]))
    for key in video_keys(features):
        damage += _check_videos(root, rows, key, deep_video)
    return damage


def _check_data_file(path: Path, eps: list[dict], features: dict, fps: float) -> list[Damage]:
    indices = tuple(int(r["episode_index"]) for r in eps)
    if not path.exists():
        return [Damage(indices, path, "missing file")]
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        return [Damage(indices, path, f"truncated or corrupt parquet ({str(exc)[:120]})")]
    missing = [c for c in features if features[c]["dtype"] != "video" and c not in table.column_names]
    if missing:
        return [Damage(indices, path, f"missing columns {missing}")]
    episode_col = table.column("episode_index").to_numpy()
    index_col = table.column("index").to_numpy()
    frame_col = table.column("frame_index").to_numpy()
    # Whole-file checks first (one pass per column), then blame the episodes that own bad rows.
    bad_rows: dict[int, str] = {}
    off_grid = np.abs(table.column("timestamp").to_numpy() - frame_col / fps) > 1e-4
    for row in np.flatnonzero(off_grid):
        bad_rows.setdefault(int(episode_col[row]), f"timestamps off the 1/{fps:g} s grid")
    for name, spec in features.items():
        if spec["dtype"] == "float32":
            values = _numpy_column(table.column(name), spec).reshape(table.num_rows, -1)
            for row in np.flatnonzero(~np.isfinite(values).all(axis=1)):
                bad_rows.setdefault(int(episode_col[row]), f"NaN or inf in {name}")
    order = np.argsort(episode_col, kind="stable")
    starts = np.searchsorted(episode_col[order], [int(r["episode_index"]) for r in eps], side="left")
    ends = np.searchsorted(episode_col[order], [int(r["episode_index"]) for r in eps], side="right")
    damage = []
    for r, a, b in zip(eps, starts, ends):
        e = int(r["episode_index"])
        rows = order[a:b]
        expected = np.arange(int(r["dataset_from_index"]), int(r["dataset_to_index"]))
        if len(rows) != int(r["length"]) or not np.array_equal(index_col[rows], expected):
            damage.append(Damage((e,), path, f"episode {e}: {len(rows)} frames, expected {r['length']}"))
        elif not np.array_equal(frame_col[rows], np.arange(len(rows))):
            damage.append(Damage((e,), path, f"episode {e}: frame_index is not 0..{len(rows) - 1}"))
        elif e in bad_rows:
            damage.append(Damage((e,), path, f"episode {e}: {bad_rows[e]}"))
    return damage


def _check_videos(root: Path, rows: list[dict], key: str, deep: bool) -> list[Damage]:
    by_file: dict[Path, list[dict]] = {}
    for r in rows:
        path = root / VIDEO_PATH.format(video_key=key, chunk_index=r[f"videos/{key}/chunk_index"],
                                        file_index=r[f"videos/{key}/file_index"])
        by_file.setdefault(path, []).append(r)
    damage = []
    for path, eps in sorted(by_file.items()):
        indices = tuple(int(r["episode_index"]) for r in eps)
        if not path.exists() or path.stat().st_size == 0:
            damage.append(Damage(indices, path, "missing or empty video"))
            continue
        reason = _mp4_problem(path, max(r[f"videos/{key}/to_timestamp"] for r in eps), deep)
        if reason:
            damage.append(Damage(indices, path, reason))
    return damage


def _mp4_problem(path: Path, needed_s: float, deep: bool) -> str | None:
    """A cut-off mp4 has a top-level box running past the end of the file, or lacks moov/mdat;
    decoded (`deep`), it must hold the frames its episodes need."""
    boxes = _mp4_boxes(path)
    if boxes is None:
        return "truncated mp4 (a box runs past the end of the file)"
    if not {"moov", "mdat"} <= set(boxes):
        return f"incomplete mp4 (top-level boxes {boxes})"
    if deep:
        import imageio.v3 as iio

        try:
            n = sum(1 for _ in iio.imiter(path, plugin="pyav" if _has_pyav() else None))
        except Exception as exc:  # any decoder error means a damaged file
            return f"undecodable mp4 ({str(exc)[:100]})"
        if n < round(needed_s * schema.FPS):
            return f"mp4 holds {n} frames, episodes need {round(needed_s * schema.FPS)}"
    return None


def _mp4_boxes(path: Path) -> list[str] | None:
    """Names of the top-level ISO-BMFF boxes, or None when the last one is cut off."""
    size_total = path.stat().st_size
    names = []
    with open(path, "rb") as f:
        pos = 0
        while pos < size_total:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                return None
            size = int.from_bytes(head[:4], "big")
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:
                size = size_total - pos
            if size < 8 or pos + size > size_total:
                return None
            names.append(head[4:8].decode("latin-1"))
            pos += size
    return names


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def load_dataset(root: Path, columns: Iterable[str] | None = None, check: bool = True) -> Dataset:
    """Read a finalised dataset.

    Raises:
        DatasetError: a missing, truncated or inconsistent file, named; `repair_dataset` drops the
            damaged episodes.
    """
    root = Path(root)
    if check:
        damage = check_dataset(root)
        if damage:
            listing = "; ".join(str(d) for d in damage[:3])
            raise DatasetError(f"damaged dataset {root}: {listing}; repair with `hvla data repair {root}` "
                               f"(drops {sum(len(d.episodes) for d in damage)} damaged episode(s))")
    info = _read_info(root)
    rows = _committed_episodes(root)
    tasks_table = _read_table(root / "meta" / "tasks.parquet", "tasks")
    tasks = [t for _, t in sorted(zip(tasks_table.column("task_index").to_pylist(),
                                      tasks_table.column("task").to_pylist()))]
    features = info["features"]
    wanted = [c for c in (columns or features) if c in features and features[c]["dtype"] != "video"]
    files = sorted({(r["data/chunk_index"], r["data/file_index"]) for r in rows})
    tables = [_read_table(root / DATA_PATH.format(chunk_index=c, file_index=f), "data").select(
        list(dict.fromkeys(["index", *wanted]))) for c, f in files]
    table = pa.concat_tables(tables) if tables else None
    cols: dict[str, NDArray] = {}
    if table is not None:
        order = np.argsort(table.column("index").to_numpy(), kind="stable")
        table = table.take(pa.array(order))
        cols = {c: _numpy_column(table.column(c), features[c]) for c in wanted}
    return Dataset(root, info, tasks, rows, cols)


def repair_dataset(root: Path) -> list[Damage]:
    """Drop every damaged episode, re-index the rest and commit; returns what was dropped."""
    root = Path(root)
    recover_interrupted_commit(root)
    damage = check_dataset(root)
    if not damage:
        return []
    info = _read_info(root)
    features = info["features"]
    bad = {e for d in damage for e in d.episodes}
    rows = [r for r in _committed_episodes(root) if int(r["episode_index"]) not in bad]
    nxt = root / ".next"
    if nxt.exists():
        shutil.rmtree(nxt)
    # Rewrite the data of the kept episodes: episode and frame indices must stay contiguous.
    by_file: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        by_file.setdefault((r["data/chunk_index"], r["data/file_index"]), []).append(r)
    new_rows, start, tasks = [], 0, {}
    for r in rows:
        for t in r["tasks"]:
            tasks.setdefault(t, len(tasks))
    old_tasks = _read_table(root / "meta" / "tasks.parquet", "tasks").to_pylist()
    old_task_name = {t["task_index"]: t["task"] for t in old_tasks}
    for (chunk, file), eps in sorted(by_file.items()):
        table = pq.read_table(root / DATA_PATH.format(chunk_index=chunk, file_index=file))
        parts = []
        for r in eps:
            sub = table.filter(pc.equal(table.column("episode_index"), r["episode_index"]))
            n = sub.num_rows
            new_index = len(new_rows)
            task_ids = [tasks[old_task_name[int(t)]] for t in sub.column("task_index").to_pylist()]
            sub = sub.set_column(sub.schema.get_field_index("episode_index"), "episode_index",
                                 pa.array(np.full(n, new_index), pa.int64()))
            sub = sub.set_column(sub.schema.get_field_index("index"), "index",
                                 pa.array(np.arange(start, start + n), pa.int64()))
            sub = sub.set_column(sub.schema.get_field_index("task_index"), "task_index",
                                 pa.array(task_ids, pa.int64()))
            parts.append(sub)
            new_rows.append({**r, "episode_index": new_index, "dataset_from_index": start,
                             "dataset_to_index": start + n, **_numeric_stats_columns(sub, features)})
            start += n
        _write_parquet(nxt / DATA_PATH.format(chunk_index=chunk, file_index=file), pa.concat_tables(parts))
    extra = {k: v for k, v in info.get("hvla", {}).items()
             if k not in ("chunk_k", "n_slots", "token_fields", "categories")}
    _write_meta_and_swap(root, new_rows, tasks, features, info.get("robot_type", "franka_panda"), extra)
    return damage
