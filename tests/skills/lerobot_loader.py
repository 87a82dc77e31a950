"""Loads an hvla dataset with LeRobot 0.4.4's own `LeRobotDataset`; run in `.venv-lerobot` (`make lerobot-venv`).

    .venv-lerobot/bin/python tests/skills/lerobot_loader.py DATASET_ROOT CHUNK_K  ->  a JSON report on stdout

It imports nothing of hvla (LeRobot's venv does not have it): `test_lerobot_loader.py` compares the report
with what hvla itself reads. Two things stand in for what this venv lacks:

- torchvision 0.29 removed `torchvision.io.VideoReader`, which LeRobot 0.4.4's "pyav" decoder calls. A
  20-line PyAV reader takes its place (below). Not torchcodec, LeRobot's other decoder: it loads the
  system's FFmpeg libraries, which these machines do not have (PyAV's wheel carries its own), and 0.4.4
  pins torchcodec<0.11, built for torch<=2.10, not the 2.14 beside it.
- Stats are recomputed with LeRobot's `compute_episode_stats` and `aggregate_stats` on the data as
  LeRobot loads it (frames decoded by LeRobot's video path for the cameras), promoted to float64 first:
  0.4.4 squares uint8 pixels, which wraps around (its image std comes out 0; fixed upstream after 0.4.4).
"""

from __future__ import annotations

import json
import sys

import av
import numpy as np
import torch
import torchvision


class PyAVVideoReader:
    """`torchvision.io.VideoReader(path, "video")` as LeRobot 0.4.4 uses it: `seek`, then frames as
    {"data": (3, H, W) uint8, "pts": seconds}, from the key frame before the seek on."""

    def __init__(self, path: str, stream: str = "video") -> None:
        self.container = av.open(str(path))
        self._stream = self.container.streams.video[0]

    def seek(self, time_s: float, keyframes_only: bool = False) -> PyAVVideoReader:
        self.container.seek(int(time_s / self._stream.time_base), stream=self._stream, backward=True,
                            any_frame=not keyframes_only)
        return self

    def __iter__(self):
        for frame in self.container.decode(self._stream):
            rgb = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)
            yield {"data": rgb, "pts": float(frame.pts * self._stream.time_base)}


if not hasattr(torchvision.io, "VideoReader"):
    torchvision.io.VideoReader = PyAVVideoReader

import lerobot.datasets.compute_stats as compute_stats  # noqa: E402  (after the shim)
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402
from lerobot.datasets.utils import dataset_to_policy_features  # noqa: E402


def stats_gaps(ds: LeRobotDataset) -> dict[str, dict[str, float]]:
    """Largest |stored - recomputed| per feature and stat, the recomputation LeRobot's own."""
    table = ds.hf_dataset.with_format("numpy")
    features = ds.meta.features
    numeric = [k for k, f in features.items() if f["dtype"] not in ("video", "image", "string")]
    cameras = ds.meta.video_keys
    decoded: dict[tuple[str, int], np.ndarray] = {}

    def sampled_frames(rows: list[tuple[str, int]]) -> np.ndarray:
        """Stands in for `sample_images(paths)`: the same sampled indices, frames as LeRobot decodes them."""
        picks = compute_stats.sample_indices(len(rows))
        out = []
        for i in picks:
            key, row = rows[i]
            if (key, row) not in decoded:
                decoded[key, row] = np.round(ds[row][key].numpy() * 255.0)
            out.append(decoded[key, row])
        return np.stack(out).astype(np.float64)

    compute_stats.sample_images = sampled_frames
    per_episode = []
    for e in range(ds.meta.total_episodes):
        a, b = int(ds.meta.episodes["dataset_from_index"][e]), int(ds.meta.episodes["dataset_to_index"][e])
        data = {k: np.asarray(table[a:b][k], dtype=np.float64) for k in numeric}
        data.update({k: [(k, row) for row in range(a, b)] for k in cameras})
        per_episode.append(compute_stats.compute_episode_stats(data, features))
    recomputed = compute_stats.aggregate_stats(per_episode)
    gaps: dict[str, dict[str, float]] = {}
    for key, stats in recomputed.items():
        stored = ds.meta.stats.get(key, {})
        gaps[key] = {stat: float(np.abs(np.asarray(stored[stat], dtype=np.float64) - value).max())
                     if stat in stored else float("inf") for stat, value in stats.items()}
    return gaps


def main(root: str, chunk_k: int) -> dict:
    ds = LeRobotDataset("hvla/recorded", root=root, video_backend="pyav")
    fps = ds.fps
    report: dict = {
        "frames": ds.num_frames, "episodes": ds.num_episodes, "fps": fps, "tasks": list(ds.meta.tasks.index),
        "camera_keys": ds.meta.camera_keys,
        "features": {k: {"dtype": f["dtype"], "shape": list(f["shape"]), "names": f.get("names")}
                     for k, f in ds.features.items()},
        # What an ACT or diffusion policy trained on it would take each feature for (ACTION, STATE, ...).
        "policy_features": {k: f.type.name for k, f in dataset_to_policy_features(ds.meta.features).items()},
    }
    ends = [int(x) for x in ds.meta.episodes["dataset_to_index"]]
    items = {}
    for row in (0, ends[0] - 1, ends[0], ends[-1] - 1):  # both ends of two episodes: every frame is there
        item = ds[row]
        items[row] = {k: (list(v.shape), str(v.dtype)) for k, v in item.items() if torch.is_tensor(v)}
        items[row]["task"] = item["task"]
        items[row]["image_range"] = [float(min(item[k].min() for k in ds.meta.camera_keys)),
                                     float(max(item[k].max() for k in ds.meta.camera_keys))]
    report["items"] = items
    actions = torch.stack([ds.hf_dataset[i]["action"] for i in range(ds.num_frames)])
    chunked = LeRobotDataset("hvla/recorded", root=root, video_backend="pyav", delta_timestamps={
        "action": [k / fps for k in range(chunk_k)], ds.meta.camera_keys[0]: [-1 / fps, 0.0]})
    last = ends[0] - 1
    window = {}
    for row in (0, last - 2):
        item = chunked[row]
        steps = [min(row + k, last) for k in range(chunk_k)]  # past the end: the last action, padded
        window[row] = {
            "action": list(item["action"].shape), "image": list(item[ds.meta.camera_keys[0]].shape),
            "matches_frames": bool(torch.allclose(item["action"], actions[steps])),
            "pad": item["action_is_pad"].tolist(),
        }
    report["delta_timestamps"] = window
    report["stats_keys"] = {k: sorted(v) for k, v in ds.meta.stats.items()}
    report["stats_gaps"] = stats_gaps(ds)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
