"""Committing staged episodes into a LeRobot v3 dataset, so that a crash never leaves it half-written.

`commit_staged` writes new video files next to the old ones, then builds the complete new `data/` and
`meta/` in `.next/` (old data files are hard-linked, not copied), marks it COMPLETE and swaps the two
folders in. A crash before COMPLETE leaves the old dataset; after it, the next open rolls forward
(`recover_interrupted_commit`). Files no committed episode references are then deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hvla.core.errors import DatasetError
from hvla.core.files import atomic_write_bytes
from hvla.skills.data import schema
from hvla.skills.data.lerobot import stats
from hvla.skills.data.lerobot.schema import (
    CHUNKS_SIZE,
    CODEBASE_VERSION,
    DATA_PATH,
    EPISODES_PATH,
    VIDEO_PATH,
    video_keys,
    write_json,
    write_parquet,
)


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


def commit_staged(
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
    video_rows = _commit_videos(root, staged, staging, features, max_file_mb)
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
            rows.append({**row, **stats.video_stats_columns(entry, staging, features)})
            total_frames += n
        write_parquet(nxt / DATA_PATH.format(chunk_index=chunk, file_index=file), pa.concat_tables(tables))
        next_file += 1
    return write_meta_and_swap(root, rows, tasks, features, robot_type, extra_info)


def write_meta_and_swap(
    root: Path, rows: list[dict], tasks: dict[str, int], features: dict, robot_type: str, extra_info: dict
) -> dict[str, Any]:
    nxt = root / ".next"
    total_frames = sum(int(r["length"]) for r in rows)
    for r in rows:
        r["meta/episodes/chunk_index"], r["meta/episodes/file_index"] = 0, 0
    write_parquet(nxt / EPISODES_PATH, _rows_table(rows))
    write_parquet(nxt / "meta" / "tasks.parquet", _tasks_parquet(tasks))
    write_json(nxt / "meta" / "stats.json", stats.dataset_stats(rows, features))
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
    write_json(nxt / "meta" / "info.json", info)
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
    return {**row, **stats.episode_stats_columns(table, features)}


def _commit_videos(
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
