"""`hvla data repair`: finalise a dataset whose recorder was killed, and drop damaged episodes.

A killed recorder never ran `finalise`: its complete episodes wait in `.staging/` (see `staging.py`),
the one it was recording is lost or half-written there, and `meta/` is absent or older. `repair`:

1. refuses while the recorder (or a worker of it) still runs: its episodes are in progress, not partial;
2. completes or undoes an interrupted commit (`recover_interrupted_commit`);
3. checks every staged episode (parquet rows against its marker, its videos whole) and drops what is
   not whole, with every partial episode and stray temporary file;
4. commits the staged episodes with the writer's own settings (its journal) through the writer's
   `finalise`: new files beside the old, meta rebuilt in `.next/` and swapped in, so a second kill
   during the repair leaves the dataset as it was or as it should be, never in between;
5. drops committed episodes whose files are damaged (`repair_dataset`) and re-indexes the rest.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hvla.core.errors import DatasetError
from hvla.core.owner import Owner
from hvla.skills.data import schema
from hvla.skills.data.lerobot import staging, stats
from hvla.skills.data.lerobot.commit import recover_interrupted_commit, write_meta_and_swap
from hvla.skills.data.lerobot.reader import Damage, check_dataset, mp4_problem
from hvla.skills.data.lerobot.schema import (
    DATA_PATH,
    IMAGE_PREFIX,
    committed_episodes,
    read_info,
    read_table,
    video_keys,
    write_parquet,
)
from hvla.skills.data.lerobot.staging import PartialEpisode
from hvla.skills.data.lerobot.writer import DatasetWriter

_STANDARD_HVLA_INFO = ("chunk_k", "n_slots", "token_fields", "categories")
_LISTED = 20  # episodes named one by one in the message; more are counted


@dataclass(frozen=True)
class KeptEpisode:
    index: int  # episode_index after the repair
    uid: str
    frames: int
    finalised_now: bool  # it was staged (complete) and committed by this repair


@dataclass(frozen=True)
class RepairReport:
    """What `repair` kept and dropped, and how it found the dataset."""

    root: Path
    kept: tuple[KeptEpisode, ...]
    partial: tuple[PartialEpisode, ...]  # episodes being recorded when the recorder died: dropped
    unusable: tuple[str, ...]  # "uid: reason" for staged episodes whose files were not whole: dropped
    damaged: tuple[Damage, ...]  # committed episodes with damaged files: dropped
    stray: tuple[Path, ...]  # temporary files of cut-off writes: deleted
    commit: str | None  # "rolled forward" / "rolled back" when a commit had been interrupted
    resumable: bool  # the recording journal is there: `hvla data record --resume` can carry on

    @property
    def changed(self) -> bool:
        return bool(self.partial or self.unusable or self.damaged or self.stray or self.commit
                    or any(k.finalised_now for k in self.kept))

    def lines(self) -> list[str]:
        """The message for the operator: every episode kept or dropped, by index or uid, with its frames."""
        root = self.root
        if not self.changed:
            return [f"{root}: nothing to repair ({len(self.kept)} episodes, {sum(k.frames for k in self.kept)} "
                    "frames, every file whole, nothing left unfinalised)"]
        out = []
        if self.partial or self.unusable or any(k.finalised_now for k in self.kept):
            out.append(f"{root}: an interrupted recording (its recorder stopped before finalising the dataset)")
        if self.commit:
            out.append(f"{root}: an interrupted commit was {self.commit}")
        new = [k for k in self.kept if k.finalised_now]
        old = len(self.kept) - len(new)
        if new:
            out.append(f"finalised {len(new)} complete episode(s) the recorder had staged but not committed "
                       f"({sum(k.frames for k in new)} frames):")
            out += [f"  kept episode {k.index}: {k.uid}, {k.frames} frames" for k in new[:_LISTED]]
            out += [f"  ... and {len(new) - _LISTED} more"] if len(new) > _LISTED else []
        if old:
            frames = sum(k.frames for k in self.kept if not k.finalised_now)
            out.append(f"kept {old} episode(s) committed before ({frames} frames)")
        for p in self.partial:
            out.append(f"dropped partial episode {p.describe()}")
        out += [f"dropped staged episode {u}" for u in self.unusable]
        out += [f"dropped damaged: {d}" for d in self.damaged]
        if self.stray:
            out.append(f"deleted {len(self.stray)} temporary file(s) of cut-off writes: "
                       + ", ".join(p.name for p in self.stray[:5]) + (" ..." if len(self.stray) > 5 else ""))
        if self.kept:
            out.append(f"{root} now holds {len(self.kept)} episodes, {sum(k.frames for k in self.kept)} frames "
                       f"(`hvla data report {root}`)")
        else:
            out.append(f"{root}: no complete episode to keep; it holds no dataset yet")
        if self.resumable:
            out.append(f"the rest of the recording: `hvla data record --resume --out {root}`")
        return out


def repair(root: Path) -> RepairReport:
    """Finalise what a killed recorder left in `root` and drop every damaged episode (module docstring).

    Raises:
        DatasetError: `root` holds neither a dataset nor a recording, its recorder still runs, or its
            metadata itself is unreadable.
    """
    root = Path(root)
    stage_dir = root / ".staging"
    if not (root / "meta" / "info.json").exists() and not stage_dir.is_dir() and not (root / ".next").exists():
        raise DatasetError(f"{root} is neither a dataset nor a recording (no meta/info.json, no .staging/)")
    partial = staging.partial_episodes(stage_dir)
    _refuse_while_recording(root, partial)
    commit = None
    if (root / ".next").exists():
        commit = "rolled forward" if (root / ".next" / "COMPLETE").exists() else "rolled back"
    recover_interrupted_commit(root)

    before = {r["hvla/uid"] for r in committed_episodes(root)}
    markers = [m for m in staging.committed_markers(stage_dir) if m.stem not in before]
    writer = _writer_for(root, markers) if markers else None
    unusable = []
    for marker in markers:
        problem = _staged_problem(stage_dir, marker, writer.features if writer else {})
        if problem:
            unusable.append(f"{marker.stem}: {problem}")
            for path in stage_dir.glob(f"{marker.stem}.*"):
                path.unlink(missing_ok=True)
    for p in partial:
        staging.drop_partial(p)
    stray = staging.stray_files(stage_dir)
    for path in stray:
        path.unlink(missing_ok=True)
    if writer is not None:
        writer.finalise()

    damaged = repair_dataset(root) if (root / "meta" / "info.json").exists() else []
    kept = tuple(KeptEpisode(int(r["episode_index"]), r["hvla/uid"], int(r["length"]), r["hvla/uid"] not in before)
                 for r in committed_episodes(root))
    resumable = (stage_dir / staging.RECORDING_JOURNAL).exists()
    return RepairReport(root, kept, tuple(partial), tuple(unusable), tuple(damaged), tuple(stray), commit, resumable)


def repair_dataset(root: Path) -> list[Damage]:
    """Drop every damaged episode, re-index the rest and commit; returns what was dropped."""
    root = Path(root)
    recover_interrupted_commit(root)
    damage = check_dataset(root)
    if not damage:
        return []
    info = read_info(root)
    features = info["features"]
    bad = {e for d in damage for e in d.episodes}
    rows = [r for r in committed_episodes(root) if int(r["episode_index"]) not in bad]
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
    old_tasks = read_table(root / "meta" / "tasks.parquet", "tasks").to_pylist()
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
                             "dataset_to_index": start + n, **stats.episode_stats_columns(sub, features)})
            start += n
        write_parquet(nxt / DATA_PATH.format(chunk_index=chunk, file_index=file), pa.concat_tables(parts))
    extra = {k: v for k, v in info.get("hvla", {}).items()
             if k not in ("chunk_k", "n_slots", "token_fields", "categories")}
    write_meta_and_swap(root, new_rows, tasks, features, info.get("robot_type", "franka_panda"), extra)
    return damage


def _refuse_while_recording(root: Path, partial: list[PartialEpisode]) -> None:
    """A live recorder's unstaged episodes are in progress: dropping them would break its recording."""
    for p in partial:
        if p.alive and p.owner != Owner.current():
            raise DatasetError(f"{root}: episode {p.uid} is still being recorded by {p.owner.describe()}; "
                               "repair once that process has ended (stop it first to give up that episode)")
    journal = staging.read_journal(root / ".staging", staging.WRITER_JOURNAL) or {}
    owner = Owner.from_json(journal.get("owner"))
    pending = partial or (root / ".next").exists() or staging.committed_markers(root / ".staging")
    if pending and owner is not None and owner != Owner.current() and owner.alive():
        raise DatasetError(f"{root} is still being recorded by {owner.describe()}; repair once that process has "
                           "ended (stop it first to give up the episode it is recording)")


def _writer_for(root: Path, markers: list[Path]) -> DatasetWriter:
    """A writer with the settings of the one that staged the episodes: its journal, else info.json, else
    what the staged episodes themselves show (cameras, image size). Journal and info.json give its very
    features: episodes staged in the layout before one action per frame are committed in that layout."""
    journal = staging.read_journal(root / ".staging", staging.WRITER_JOURNAL)
    if journal is not None:
        features, extra = journal["features"], dict(journal.get("extra_info") or {})
        max_mb, robot = float(journal.get("max_file_mb", 64.0)), journal.get("robot_type", "franka_panda")
    elif (root / "meta" / "info.json").exists():
        info = read_info(root)
        features, max_mb, robot = info["features"], 64.0, info.get("robot_type", "franka_panda")
        extra = {k: v for k, v in info.get("hvla", {}).items() if k not in _STANDARD_HVLA_INFO}
    else:
        features, max_mb, robot, extra = _features_from_markers(root / ".staging", markers), 64.0, "franka_panda", {}
        keys = video_keys(features)
        cameras = tuple(k[len(IMAGE_PREFIX):] for k in keys)
        hw = tuple(features[keys[0]]["shape"][:2]) if keys else (128, 128)
        return DatasetWriter(root, cameras, hw, max_mb, robot, extra)
    return DatasetWriter(root, max_file_mb=max_mb, robot_type=robot, extra_info=extra, features=features)


def _features_from_markers(stage_dir: Path, markers: list[Path]) -> dict[str, Any]:
    import json

    import imageio_ffmpeg

    entry = json.loads(markers[0].read_text())
    feats: dict[str, Any] = {}
    for key, name in sorted(entry.get("videos", {}).items()):
        reader = imageio_ffmpeg.read_frames(str(stage_dir / name))
        width, height = next(reader)["size"]
        reader.close()
        feats[key] = {"dtype": "video", "shape": [height, width, 3]}
    return feats


def _staged_problem(stage_dir: Path, marker: Path, features: dict[str, Any]) -> str | None:
    """Why a staged episode is not whole (its files are written before its marker, so a kill leaves
    them whole; a disk fault or a hand edit may not), or None."""
    import json

    try:
        entry = json.loads(marker.read_text())
        rows = pq.read_table(stage_dir / f"{marker.stem}.parquet").num_rows
    except (OSError, ValueError, pa.ArrowException) as exc:
        return f"unreadable ({str(exc)[:120]})"
    if rows != int(entry.get("length", -1)):
        return f"{rows} frames staged, its marker says {entry.get('length')}"
    for key in video_keys(features):
        name = entry.get("videos", {}).get(key)
        path = stage_dir / name if name else None
        if path is None or not path.exists() or path.stat().st_size == 0:
            return f"no video for {key}"
        problem = mp4_problem(path, rows / schema.FPS, deep=False)
        if problem:
            return f"{path.name}: {problem}"
    return None
