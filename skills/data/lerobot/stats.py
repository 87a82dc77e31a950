"""Feature statistics as LeRobot 0.4.4 computes them (`lerobot/datasets/compute_stats.py`).

Per episode, every numeric column gets min, max, mean, std, count and the quantiles q01 q10 q50 q90 q99
(ACT and diffusion normalise with mean/std or min/max, pi0-style policies with q01/q99), by LeRobot's
estimator: a 5000-bin histogram between the episode's min and max, interpolated linearly within a bin.
A camera stream gets the same per channel, shape (3, 1, 1), in [0, 1], from frames sampled evenly over
the episode (all of them up to 100, then `len ** 0.75`). The dataset's stats pool the episodes' as
LeRobot's `aggregate_stats` does: exact min, max, mean, std and count; each quantile the count-weighted
mean of the episodes' quantiles (LeRobot's approximation, kept so its tools re-aggregate to the same).

One departure, in precision, not in format: values are promoted to float64 before they are squared.
LeRobot 0.4.4 squares uint8 pixels, which wraps around and leaves image std at 0 (fixed upstream after
0.4.4), and float32 E[x^2] - E[x]^2 cancels to noise for near-constant dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from hvla.skills.data.lerobot.schema import numpy_column, video_keys

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)  # LeRobot's names: q01 q10 q50 q90 q99
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
HISTOGRAM_BINS = 5000

Stats = dict[str, NDArray[np.float64]]


def feature_stats(values: NDArray) -> Stats:
    """Stats of (N, D) samples, per dimension; `count` is (1,) = N."""
    x = np.asarray(values, dtype=np.float64)
    x = x.reshape(len(x), -1)
    n = len(x)
    lo, hi, mean = x.min(0), x.max(0), x.mean(0)
    if n < 2:  # LeRobot's fallback: no histogram, the mean stands for every quantile
        std, qs = x.std(0), [mean.copy() for _ in QUANTILES]
    else:
        std = np.sqrt(np.maximum(0.0, (x**2).mean(0) - mean**2))
        edges = _edges(lo, hi)
        cumsum = np.cumsum(_histograms(x, edges), axis=1)
        qs = [_quantiles(cumsum, edges, q * n) for q in QUANTILES]
    return {"min": lo, "max": hi, "mean": mean, "std": std, "count": np.array([n], dtype=np.float64),
            **dict(zip(QUANTILE_KEYS, qs))}


def image_stats(frames: NDArray[np.uint8]) -> Stats:
    """Per-channel stats in [0, 1], each (3, 1, 1), of (N, H, W, 3) frames; `count` = N frames.

    Pixels are integers, so one 256-value count per channel gives the same histogram as binning every
    pixel (LeRobot's `np.histogram`), a hundred times faster."""
    frames = _downsample(np.asarray(frames, dtype=np.uint8))
    n_frames = len(frames)
    pixels = frames.reshape(-1, frames.shape[-1])
    values = np.arange(256, dtype=np.float64)
    out: dict[str, list[float]] = {k: [] for k in STAT_KEYS if k != "count"}
    for c in range(pixels.shape[1]):
        counts = np.bincount(pixels[:, c], minlength=256).astype(np.float64)
        total = counts.sum()
        lo, hi = values[counts > 0].min(), values[counts > 0].max()
        mean = (values * counts).sum() / total
        out["min"].append(lo)
        out["max"].append(hi)
        out["mean"].append(mean)
        out["std"].append(np.sqrt(max(0.0, (values**2 * counts).sum() / total - mean**2)))
        edges = _edges(np.array([lo]), np.array([hi]))
        present = counts > 0
        cumsum = np.cumsum(_histograms(values[present, None], edges, counts[present]), axis=1)
        for key, q in zip(QUANTILE_KEYS, QUANTILES):
            out[key].append(_quantiles(cumsum, edges, q * total)[0])
    stats = {k: np.asarray(v).reshape(-1, 1, 1) / 255.0 for k, v in out.items()}
    return {**stats, "count": np.array([n_frames], dtype=np.float64)}


def sample_indices(n: int) -> list[int]:
    """Frames of an n-frame episode that image stats are computed from (LeRobot's `sample_indices`)."""
    samples = max(min(n, 100), min(int(n**0.75), 10_000))
    return np.round(np.linspace(0, n - 1, samples)).astype(int).tolist()


def video_stats(path: Path, n_frames: int) -> Stats:
    """`image_stats` of the sampled frames of an episode's own mp4 (what a reader decodes, not the renders)."""
    import imageio.v3 as iio

    wanted = set(sample_indices(n_frames))
    frames = [f for i, f in enumerate(iio.imiter(path)) if i in wanted]
    return image_stats(np.stack(frames))


def aggregate(per_episode: Sequence[Mapping[str, NDArray]]) -> Stats:
    """One feature's dataset stats from its episodes' (LeRobot's `aggregate_feature_stats`)."""
    counts = np.array([float(np.asarray(s["count"]).reshape(-1)[0]) for s in per_episode])
    means = np.stack([np.asarray(s["mean"], dtype=np.float64) for s in per_episode])
    stds = np.stack([np.asarray(s["std"], dtype=np.float64) for s in per_episode])
    w = counts.reshape(-1, *([1] * (means.ndim - 1)))
    total = counts.sum()
    mean = (means * w).sum(0) / total
    var = ((stds**2 + (means - mean) ** 2) * w).sum(0) / total
    out = {
        "min": np.min(np.stack([np.asarray(s["min"], dtype=np.float64) for s in per_episode]), axis=0),
        "max": np.max(np.stack([np.asarray(s["max"], dtype=np.float64) for s in per_episode]), axis=0),
        "mean": mean, "std": np.sqrt(var), "count": np.array([total]),
    }
    for key in QUANTILE_KEYS:
        if all(key in s for s in per_episode):  # episodes committed before quantiles were written lack them
            out[key] = (np.stack([np.asarray(s[key], dtype=np.float64) for s in per_episode]) * w).sum(0) / total
    return out


def as_json(stats: Stats) -> dict[str, list]:
    """Nested lists as stats.json and the episodes parquet hold them; counts as integers."""
    return {k: (np.asarray(v).astype(np.int64) if k == "count" else np.asarray(v)).tolist() for k, v in stats.items()}


# --- the columns of the episodes parquet and stats.json ----------------------------------------
def episode_stats_columns(table: pa.Table, features: dict) -> dict[str, list]:
    """`stats/<feature>/<stat>` of every numeric column of one episode's frames (LeRobot's episode stats)."""
    out = {}
    for name, spec in features.items():
        if spec["dtype"] in ("float32", "int64", "bool") and name in table.column_names:
            values = numpy_column(table.column(name), spec).astype(np.float64).reshape(table.num_rows, -1)
            for stat, value in as_json(feature_stats(values)).items():
                out[f"stats/{name}/{stat}"] = value
    return out


def video_stats_columns(entry: dict, staging: Path, features: dict) -> dict[str, list]:
    """`stats/<camera>/<stat>` of a staged episode: from its marker, else (staged before markers held
    them) decoded from its staged mp4."""
    out = {}
    for key in video_keys(features):
        found = (entry.get("image_stats") or {}).get(key)
        if found is None:
            found = as_json(video_stats(staging / entry["videos"][key], entry["length"]))
        out.update({f"stats/{key}/{stat}": value for stat, value in found.items()})
    return out


def dataset_stats(rows: list[dict], features: dict) -> dict[str, dict[str, list]]:
    """Dataset stats from per-episode stats, as LeRobot aggregates them (`aggregate`), for stats.json."""
    out = {}
    for name in features:
        # Episodes committed before a stat was written lack it (their row holds None): a camera's stats,
        # or quantiles, then appear once every episode has them.
        if not rows or any(r.get(f"stats/{name}/mean") is None for r in rows):
            continue
        per_episode = [{stat: r[f"stats/{name}/{stat}"] for stat in STAT_KEYS
                        if r.get(f"stats/{name}/{stat}") is not None} for r in rows]
        out[name] = as_json(aggregate(per_episode))
    return out


def _edges(lo: NDArray, hi: NDArray) -> NDArray[np.float64]:
    """(D, BINS + 1) histogram edges per dimension, as LeRobot's `np.linspace(min - 1e-10, max + 1e-10)`."""
    return np.linspace(lo - 1e-10, hi + 1e-10, HISTOGRAM_BINS + 1, axis=1)


def _histograms(x: NDArray, edges: NDArray, weights: NDArray | None = None) -> NDArray[np.float64]:
    """(D, BINS) counts of the (N, D) samples, binned as `np.histogram` bins them (the last bin holds
    its right edge), all dimensions at once: a first guess from the bin width, corrected on the edges."""
    n, dims = x.shape
    width = (edges[:, -1] - edges[:, 0]) / HISTOGRAM_BINS
    guess = np.floor((x - edges[:, 0]) / np.where(width > 0, width, 1.0)).astype(np.int64)
    bins = np.clip(guess, 0, HISTOGRAM_BINS - 1)
    rows = np.arange(dims)[None, :].repeat(n, 0)
    for _ in range(2):  # round-off puts a value one bin off at most
        bins = np.where((x < edges[rows, bins]) & (bins > 0), bins - 1, bins)
        bins = np.where((x >= edges[rows, bins + 1]) & (bins < HISTOGRAM_BINS - 1), bins + 1, bins)
    w = np.ones_like(x) if weights is None else np.broadcast_to(weights[:, None], x.shape)
    flat = np.bincount((rows * HISTOGRAM_BINS + bins).ravel(), weights=w.ravel(), minlength=dims * HISTOGRAM_BINS)
    return flat.reshape(dims, HISTOGRAM_BINS)


def _quantiles(cumsum: NDArray, edges: NDArray, target: float) -> NDArray[np.float64]:
    """(D,) values below which `target` samples lie, from (D, BINS) cumulative counts, interpolated
    within their bin (LeRobot's estimator, `_compute_single_quantile`, for every dimension at once)."""
    idx = (cumsum < target).sum(axis=1)  # np.searchsorted(cumsum, target), row by row
    rows = np.arange(len(cumsum))
    safe = np.clip(idx, 1, HISTOGRAM_BINS - 1)
    before = cumsum[rows, safe - 1]
    inside = cumsum[rows, safe] - before
    lower = edges[rows, safe]
    fraction = np.where(inside > 0, (target - before) / np.where(inside > 0, inside, 1.0), 0.0)
    out = lower + fraction * (edges[rows, safe + 1] - lower)
    out = np.where(idx == 0, edges[:, 0], out)
    return np.where(idx >= HISTOGRAM_BINS, edges[:, -1], out)


def _downsample(frames: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Frames of 300 px or more are strided down to about 150 px first, as LeRobot does."""
    height, width = frames.shape[1:3]
    if max(height, width) < 300:
        return frames
    step = int(width / 150) if width > height else int(height / 150)
    return frames[:, ::step, ::step]
