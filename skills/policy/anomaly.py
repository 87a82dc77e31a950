"""Anomaly detection for the learned skill policy: is this situation like the ones it was trained on?

The chapter's recipe: fit a model of normal operation, warn when the policy's inputs leave it. The
features are what the policy's head reads (`ObjectCentricPolicy.embed`: its pooled tokens, the raw
features of the objects the subgoal names relative to the hand and to where they started, and the
proprioception). Per skill, the frames of normal episodes are projected on their first principal
components (`components`; a full-rank Gaussian over ~500 numbers from a few dozen episodes fits
those episodes, not normality) and kept as reference points; a frame's distance is its mean
distance to the `k` nearest references (nearest neighbours follow the phases of a skill, which one
ellipsoid would blur). The score is that distance over the limit, the `quantile` of the distances
of held-out normal episodes: above 1 is rarer than 1 - quantile of normal frames. The runtime
monitor warns only after several such frames in a row (`orchestration.monitors.AnomalyMonitor`).

A detector belongs to one policy checkpoint (the features are that network's): the checkpoint's
sha256 is stored and checked on load.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from sklearn.decomposition import PCA

from hvla.core.artifacts import read_manifest, resolve_artifact, sha256_of
from hvla.core.errors import CheckpointError, ConfigError
from hvla.core.files import atomic_write_bytes
from hvla.skills.policy.checkpoint import LoadedPolicy
from hvla.skills.policy.samples import TrainingSet, gather

FORMAT = "hvla-anomaly/2"
ARTIFACT = "skills/anomaly.npz"
MAKE_COMMAND = "hvla train anomaly --data ... (see the README, 'Anomaly detection')"


@dataclass(frozen=True)
class SkillModel:
    """One skill's normal frames in principal-component space, and the distance that bounds them."""

    mean: np.ndarray  # (F,) of the features
    components: np.ndarray  # (C, F) principal axes
    references: np.ndarray  # (R, C) projected normal frames
    k: int
    limit: float  # mean k-nearest distance at the calibration quantile of held-out normal frames

    def __post_init__(self) -> None:
        # A k-d tree in the 16-d component space: a query visits a few leaves, not all 6000 references, on the
        # calling thread (sklearn's brute-force query ran OpenMP threads that spun on busy cores: 0.3 ms alone,
        # 60-160 ms in the loop).
        object.__setattr__(self, "_index", cKDTree(self.references))

    def distance(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) @ self.components.T
        dist, _ = self._index.query(z, k=self.k, workers=1)
        return np.asarray(dist, dtype=np.float64).reshape(len(z), self.k).mean(axis=1)


@dataclass(frozen=True)
class AnomalyDetector:
    skills: dict[str, SkillModel]
    policy_sha256: str
    quantile: float
    meta: dict[str, Any]

    def score(self, skill: str, embedding: np.ndarray) -> float | None:
        """Distance over the normal limit (> 1: unusual), or None for a skill it has no model of."""
        model = self.skills.get(skill)
        if model is None:
            return None
        return float(model.distance(embedding)[0] / model.limit)

    def check_policy(self, policy: LoadedPolicy) -> None:
        """Raise when this detector was fitted on another checkpoint's embedding."""
        got = sha256_of(policy.path) if policy.path is not None else "unsaved"
        if got != self.policy_sha256:
            raise CheckpointError(
                f"anomaly detector fitted for policy {self.policy_sha256[:12]}, not {got[:12]} "
                f"({policy.path}); refit it with `hvla train anomaly --policy {policy.path}`")

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for skill, m in self.skills.items():
            arrays[f"{skill}/mean"] = m.mean.astype(np.float32)
            arrays[f"{skill}/components"] = m.components.astype(np.float32)
            arrays[f"{skill}/references"] = m.references.astype(np.float32)
            arrays[f"{skill}/k_limit"] = np.array([m.k, m.limit], dtype=np.float64)
        header = {"format": FORMAT, "policy_sha256": self.policy_sha256, "quantile": self.quantile,
                  "skills": sorted(self.skills), "meta": self.meta}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(Path(path), buf.getvalue())


def load_detector(path: Path | None = None) -> AnomalyDetector:
    """Load `path`, or the committed artefact (checksum-checked) when None.

    Raises:
        CheckpointError: missing, unreadable or another format.
    """
    path = Path(path) if path is not None else resolve_artifact(ARTIFACT, MAKE_COMMAND)
    if not path.exists():
        raise CheckpointError(f"missing anomaly detector {path}; fit one with `{MAKE_COMMAND}`")
    try:
        with np.load(path) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise CheckpointError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
            skills = {s: SkillModel(z[f"{s}/mean"].astype(np.float64), z[f"{s}/components"].astype(np.float64),
                                    z[f"{s}/references"].astype(np.float64), int(z[f"{s}/k_limit"][0]),
                                    float(z[f"{s}/k_limit"][1])) for s in header["skills"]}
    except CheckpointError:
        raise
    except Exception as exc:  # numpy/zipfile/json raise many types for a damaged file
        raise CheckpointError(f"unreadable anomaly detector {path}: {exc}") from None
    return AnomalyDetector(skills, header["policy_sha256"], float(header["quantile"]), header.get("meta", {}))


@lru_cache(maxsize=1)
def committed_detector() -> AnomalyDetector | None:
    """The committed detector, or None where none is listed in the manifest (the policy then runs unwatched).

    Loaded once per process, like the committed policy: every `--skills learned` episode builds a policy."""
    if ARTIFACT not in read_manifest():
        return None
    return load_detector(None)


def embeddings(policy: LoadedPolicy, ts: TrainingSet, rows: np.ndarray, batch: int = 1024) -> np.ndarray:
    """(len(rows), D) the policy's embedding of the frames `rows` (no augmentation)."""
    model = policy.model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(rows), batch):
            raw, _ = gather(ts, torch.from_numpy(rows[i:i + batch]))
            out.append(model.embed(raw).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def fit_detector(policy: LoadedPolicy, ts: TrainingSet, fit_episodes: np.ndarray, val_episodes: np.ndarray,
                 quantile: float = 0.99, components: int = 16, k: int = 10, max_references: int = 6000,
                 min_frames: int = 200) -> tuple[AnomalyDetector, dict[str, Any]]:
    """Fit one model per skill on `fit_episodes` (boolean (E,) mask), calibrate the limit on `val_episodes`.

    Returns the detector and a report per skill: frames used, the limit and the variance the
    principal components keep.
    """
    if not 0.5 <= quantile < 1.0:
        raise ConfigError(f"quantile={quantile} must lie in [0.5, 1)")
    if policy.path is None:
        raise ConfigError("fit the anomaly detector on a saved policy checkpoint (its sha256 ties the two)")
    names = np.array(ts.ep_skill_name)
    rng = np.random.default_rng(0)
    models: dict[str, SkillModel] = {}
    report: dict[str, Any] = {}
    for skill in sorted(set(ts.ep_skill_name)):
        fit_rows = ts.subset_episodes(fit_episodes & (names == skill))
        val_rows = ts.subset_episodes(val_episodes & (names == skill))
        if len(fit_rows) < min_frames or len(val_rows) < min_frames // 4:
            report[skill] = {"skipped": f"{len(fit_rows)} fitting / {len(val_rows)} held-out frames"}
            continue
        fit_x, val_x = embeddings(policy, ts, fit_rows), embeddings(policy, ts, val_rows)
        pca = PCA(n_components=min(components, fit_x.shape[1]), random_state=0).fit(fit_x)
        refs = pca.transform(fit_x)
        if len(refs) > max_references:
            refs = refs[np.sort(rng.choice(len(refs), max_references, replace=False))]
        probe = SkillModel(pca.mean_, pca.components_, refs, k, 1.0)
        limit = float(np.quantile(probe.distance(val_x), quantile))
        models[skill] = SkillModel(pca.mean_, pca.components_, refs, k, limit)
        report[skill] = {
            "fit_frames": int(len(fit_rows)), "val_frames": int(len(val_rows)), "limit": round(limit, 3),
            "explained_variance": round(float(pca.explained_variance_ratio_.sum()), 3),
        }
    if not models:
        raise ConfigError(f"no skill has enough frames to fit an anomaly model: {report}")
    meta = {"dataset_frames": int(ts.num_frames), "components": components, "k": k, "report": report}
    return AnomalyDetector(models, sha256_of(policy.path), quantile, meta), report
