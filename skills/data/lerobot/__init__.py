"""Datasets in the LeRobotDataset v3 layout, written with pyarrow alone, crash-safe and resumable.

    <root>/meta/info.json                               features, fps, paths, totals (the commit point)
    <root>/meta/stats.json                              per feature min/max/mean/std/count/q01..q99
    <root>/meta/tasks.parquet                           task in words (pandas index) -> task_index
    <root>/meta/episodes/chunk-000/file-000.parquet     one row per episode: length, file, frame range, stats
    <root>/data/chunk-000/file-000.parquet              frames of many episodes, on an exact 1/fps grid
    <root>/videos/<key>/chunk-000/file-000.mp4          optional camera streams, episodes back to back

LeRobot's own `LeRobotDataset` reads them as they are (`tests/skills/test_lerobot_loader.py`).
One module per role:

    schema.py    paths, the `features` block of info.json, columns <-> arrow, reading the meta files
    writer.py    `DatasetWriter`: stages finished episodes, `finalise` commits them
    commit.py    the commit itself: new files beside the old, meta rebuilt in `.next/` and swapped in
    stats.py     LeRobot's per-episode and dataset stats (quantiles, per-channel image stats)
    reader.py    `load_dataset`, `check_dataset`: every file checked, damage named by file
    staging.py   what a killed recorder leaves in `.staging/`, readable
    repair.py    `hvla data repair`: finalise a killed recording, drop damaged episodes
"""

from hvla.skills.data.lerobot.commit import recover_interrupted_commit
from hvla.skills.data.lerobot.reader import Damage, Dataset, check_dataset, load_dataset
from hvla.skills.data.lerobot.repair import RepairReport, repair, repair_dataset
from hvla.skills.data.lerobot.schema import (
    CHUNK_KEY,
    CODEBASE_VERSION,
    DATA_PATH,
    EPISODES_PATH,
    EXECUTED_KEY,
    IMAGE_PREFIX,
    INDEX_COLUMNS,
    VIDEO_PATH,
    dataset_features,
    frame_columns,
    video_keys,
)
from hvla.skills.data.lerobot.writer import DatasetWriter, EpisodeRecord, recorded_uids, unfinalised_uids

__all__ = [
    "CHUNK_KEY",
    "CODEBASE_VERSION",
    "DATA_PATH",
    "EPISODES_PATH",
    "EXECUTED_KEY",
    "IMAGE_PREFIX",
    "INDEX_COLUMNS",
    "VIDEO_PATH",
    "Damage",
    "Dataset",
    "DatasetWriter",
    "EpisodeRecord",
    "RepairReport",
    "check_dataset",
    "dataset_features",
    "frame_columns",
    "load_dataset",
    "recorded_uids",
    "recover_interrupted_commit",
    "repair",
    "repair_dataset",
    "unfinalised_uids",
    "video_keys",
]
