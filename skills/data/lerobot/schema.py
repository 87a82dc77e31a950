"""What a LeRobot v3 dataset holds: its paths, the `features` block of info.json, columns <-> arrow, meta files.

The frame columns themselves (state, object tokens, waypoint chunks) are `hvla.skills.data.schema`'s;
this module says how they sit in LeRobot's files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from hvla.core.errors import DatasetError
from hvla.core.files import atomic_write_bytes
from hvla.skills.data import schema
from hvla.skills.data.lerobot import staging

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder, as LeRobot
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
IMAGE_PREFIX = "observation.images."
# The K-step chunks beside `action`: the expert's labels hvla's policies train on, and the chunk the robot
# executed. Their keys stay outside the `action` prefix, for LeRobot (`dataset_to_policy_features`) takes
# every key that starts with "action" for one of a policy's actions; its own extras read `next.done`.
CHUNK_KEY = "label.chunk"
EXECUTED_KEY = "executed.chunk"
# The layouts hvla has recorded, told apart by `action_layout`; `stored_column` says where each keeps a column.
LAYOUT_FRAME = "frame"  # now: `action` one action per frame, the chunks in CHUNK_KEY and EXECUTED_KEY
LAYOUT_PREFIXED = "prefixed"  # before: `action` one per frame, the chunks in `action.chunk`, `action.executed`
LAYOUT_CHUNK = "chunk"  # before that: the label chunks in `action` itself, the executed ones in `action.executed`
_PREFIXED = {CHUNK_KEY: "action.chunk", EXECUTED_KEY: "action.executed"}
_STORED = {
    LAYOUT_FRAME: {},
    LAYOUT_PREFIXED: _PREFIXED,
    # The frame's action is the head of the executed chunk (`load_dataset` cuts it to its first waypoint).
    LAYOUT_CHUNK: {CHUNK_KEY: "action", EXECUTED_KEY: "action.executed", "action": "action.executed"},
}


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
        # What the robot was commanded at this frame; chunks of it come from `delta_timestamps`.
        "action": {"dtype": "float32", "shape": [schema.ACTION_DIM], "names": list(schema.ACTION_NAMES)},
        # The expert's chunk (the label), and the chunk executed (the label plus any injected noise).
        CHUNK_KEY: {"dtype": "float32", "shape": [schema.CHUNK_DIM], "names": schema.chunk_names()},
        EXECUTED_KEY: {"dtype": "float32", "shape": [schema.CHUNK_DIM], "names": schema.chunk_names()},
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


def action_layout(features: dict[str, dict], root: Path | str = "dataset") -> str:
    """LAYOUT_FRAME, LAYOUT_PREFIXED or LAYOUT_CHUNK (see above), from the shape of `action` and the keys
    beside it.

    Raises:
        DatasetError: `action` is neither one action nor one chunk, or missing.
    """
    shape = list(features.get("action", {}).get("shape") or [])
    prefixed = any(key in features for key in _PREFIXED.values())
    if shape == [schema.ACTION_DIM]:
        return LAYOUT_PREFIXED if prefixed and CHUNK_KEY not in features else LAYOUT_FRAME
    if shape == [schema.CHUNK_DIM] and CHUNK_KEY not in features and "action.chunk" not in features:
        return LAYOUT_CHUNK
    raise DatasetError(
        f"{root}: `action` has shape {shape or 'none'}; hvla reads [{schema.ACTION_DIM}] (one end-effector target "
        f"and gripper per frame, with [{schema.CHUNK_DIM}] label chunks in `{CHUNK_KEY}`) or, as recorded before, "
        f"[{schema.CHUNK_DIM}] label chunks in `action` itself")


def stored_column(name: str, layout: str) -> str:
    """The column a dataset of `layout` keeps what is now called `name` in."""
    return _STORED[layout].get(name, name)


def current_names(features: dict[str, dict], layout: str) -> list[str]:
    """The columns a dataset of `layout` with these `features` holds, by their names now."""
    renamed = {stored: name for name, stored in _STORED[layout].items() if name != "action"}
    names = [renamed.get(key, key) for key in features]
    # LAYOUT_CHUNK's `action` holds the labels; the frame's action is the head of its executed chunk.
    return [*names, "action"] if layout == LAYOUT_CHUNK else names


def frame_columns(features: dict[str, dict]) -> list[str]:
    """Per-frame parquet columns an episode supplies (index columns are assigned at commit)."""
    return [k for k, v in features.items() if v["dtype"] != "video" and k not in INDEX_COLUMNS]


def video_keys(features: dict[str, dict]) -> list[str]:
    return [k for k, v in features.items() if v["dtype"] == "video"]


_ARROW = {"float32": pa.float32(), "int64": pa.int64(), "bool": pa.bool_()}


def arrow_column(values: NDArray, spec: dict) -> pa.Array:
    kind = _ARROW[spec["dtype"]]
    dim = int(np.prod(spec["shape"]))
    if dim == 1:
        return pa.array(np.asarray(values).reshape(-1).astype(kind.to_pandas_dtype()), type=kind)
    flat = np.asarray(values, dtype=kind.to_pandas_dtype()).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=kind), dim)


def numpy_column(column: pa.ChunkedArray | pa.Array, spec: dict) -> NDArray:
    dim = int(np.prod(spec["shape"]))
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if dim == 1:
        return arr.to_numpy(zero_copy_only=False)
    return arr.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)


# --- files ---------------------------------------------------------------------------------------
def write_parquet(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_info(root: Path) -> dict[str, Any]:
    """meta/info.json, checked for the keys every reader needs; an unfinalised recording is named as one."""
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


def read_table(path: Path, what: str) -> pa.Table:
    """A whole parquet file; a missing or cut-off one raises `DatasetError` naming it as `what`."""
    if not path.exists():
        raise DatasetError(f"missing {what} file {path}")
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"truncated or corrupt {what} file {path}: {exc}") from None


def committed_episodes(root: Path) -> list[dict[str, Any]]:
    """Rows of meta/episodes that info.json commits (rows past total_episodes are ignored)."""
    if not (root / "meta" / "info.json").exists():
        return []
    info = read_info(root)
    rows = read_table(root / EPISODES_PATH, "episodes metadata").to_pylist()
    return [r for r in rows if r["episode_index"] < info["total_episodes"]]
