"""Reading a LeRobot v3 dataset, checked file by file.

Loading checks every referenced file (exists, parses, row counts, frame grid, finite values) and
raises `DatasetError` naming the damaged file; `repair_dataset` (`repair.py`) drops the damaged
episodes and re-indexes the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from hvla.core.errors import DatasetError
from hvla.skills.data import schema
from hvla.skills.data.lerobot.schema import (
    CHUNK_KEY,
    DATA_PATH,
    EPISODES_PATH,
    LAYOUT_CHUNK,
    VIDEO_PATH,
    action_layout,
    committed_episodes,
    current_names,
    numpy_column,
    read_info,
    read_table,
    stored_column,
    video_keys,
)


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
    info = read_info(root)
    read_table(root / "meta" / "tasks.parquet", "tasks")
    rows = committed_episodes(root)
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
            values = numpy_column(table.column(name), spec).reshape(table.num_rows, -1)
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
        reason = mp4_problem(path, max(r[f"videos/{key}/to_timestamp"] for r in eps), deep)
        if reason:
            damage.append(Damage(indices, path, reason))
    return damage


def mp4_problem(path: Path, needed_s: float, deep: bool) -> str | None:
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
    """Read a finalised dataset: `columns` (default all) under the names of the current layout.

    Datasets of the layouts recorded before (`action_layout`) read as if recorded now: LAYOUT_PREFIXED's
    `action.chunk` and `action.executed` come back as `label.chunk` and `executed.chunk`; LAYOUT_CHUNK's
    `action` chunks come back as `label.chunk`, its `action.executed` as `executed.chunk`, and `action`
    is what the robot was sent to, the first waypoint of the executed chunk.

    Raises:
        DatasetError: a missing, truncated or inconsistent file, named (`repair_dataset` drops the
            damaged episodes); an `action` of no layout; `label.chunk` asked of a dataset without it.
    """
    root = Path(root)
    if check:
        damage = check_dataset(root)
        if damage:
            listing = "; ".join(str(d) for d in damage[:3])
            raise DatasetError(f"damaged dataset {root}: {listing}; repair with `hvla data repair {root}` "
                               f"(drops {sum(len(d.episodes) for d in damage)} damaged episode(s))")
    info = read_info(root)
    rows = committed_episodes(root)
    tasks_table = read_table(root / "meta" / "tasks.parquet", "tasks")
    tasks = [t for _, t in sorted(zip(tasks_table.column("task_index").to_pylist(),
                                      tasks_table.column("task").to_pylist()))]
    features = info["features"]
    layout = action_layout(features, root)
    names = list(columns or current_names(features, layout))
    source = {c: stored_column(c, layout) for c in names}
    if CHUNK_KEY in names and source[CHUNK_KEY] not in features:
        raise DatasetError(f"{root} has no `{CHUNK_KEY}`: one action per frame but not the K-step labels hvla's "
                           "policies train on (record it with `hvla data record`)")
    wanted = [c for c in names if source[c] in features and features[source[c]]["dtype"] != "video"]
    files = sorted({(r["data/chunk_index"], r["data/file_index"]) for r in rows})
    tables = [read_table(root / DATA_PATH.format(chunk_index=c, file_index=f), "data").select(
        list(dict.fromkeys(["index", *(source[c] for c in wanted)]))) for c, f in files]
    table = pa.concat_tables(tables) if tables else None
    cols: dict[str, NDArray] = {}
    if table is not None:
        order = np.argsort(table.column("index").to_numpy(), kind="stable")
        table = table.take(pa.array(order))
        cols = {c: numpy_column(table.column(source[c]), features[source[c]]) for c in wanted}
        if layout == LAYOUT_CHUNK and "action" in cols:
            cols["action"] = np.ascontiguousarray(cols["action"][:, : schema.ACTION_DIM])
    return Dataset(root, info, tasks, rows, cols)
