"""Anomaly detection for the learned skill policy: is this situation like the ones it was trained on?

The chapter's recipe: fit a model of normal operation, warn when the policy's inputs leave it. The
features are the policy's own view of the moment, the last hidden layer of its head (`embed`, 128
numbers that already combine the objects the subgoal names, the hand and the subgoal). Per skill, a
Gaussian with a Ledoit-Wolf shrunk covariance is fitted on the frames of normal episodes
(demonstrations, or roll-outs of normal scenes); the score of a frame is its Mahalanobis distance
divided by the limit, the `quantile` of the scores of held-out normal episodes. So a score above 1 is
rarer than 1 - quantile of normal frames; the runtime monitor warns only after several such frames in
a row (`orchestration.monitors.AnomalyMonitor`).

A detector belongs to one policy checkpoint (its embedding is that network's): the checkpoint's
sha256 is stored and checked on load.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.covariance import LedoitWolf

from hvla.core.artifacts import read_manifest, resolve_artifact, sha256_of
from hvla.core.errors import CheckpointError, ConfigError
from hvla.core.files import atomic_write_bytes
from hvla.skills.policy.checkpoint import LoadedPolicy
from hvla.skills.policy.samples import TrainingSet, gather

FORMAT = "hvla-anomaly/1"
ARTIFACT = "skills/anomaly.npz"
MAKE_COMMAND = "hvla train anomaly --data ... (see the README, 'Anomaly detection')"


@dataclass(frozen=True)
class SkillModel:
    """A Gaussian over one skill's embeddings and the distance that bounds normal frames."""

    mean: np.ndarray  # (D,)
    precision: np.ndarray  # (D, D)
    limit: float  # Mahalanobis distance at the calibration quantile of held-out normal frames

    def distance(self, x: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(x) - self.mean
        return np.sqrt(np.maximum(np.einsum("bi,ij,bj->b", d, self.precision, d), 0.0))


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
            arrays[f"{skill}/precision"] = m.precision.astype(np.float32)
            arrays[f"{skill}/limit"] = np.array(m.limit, dtype=np.float64)
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
            skills = {s: SkillModel(z[f"{s}/mean"].astype(np.float64), z[f"{s}/precision"].astype(np.float64),
                                    float(z[f"{s}/limit"])) for s in header["skills"]}
    except CheckpointError:
        raise
    except Exception as exc:  # numpy/zipfile/json raise many types for a damaged file
        raise CheckpointError(f"unreadable anomaly detector {path}: {exc}") from None
    return AnomalyDetector(skills, header["policy_sha256"], float(header["quantile"]), header.get("meta", {}))


def committed_detector() -> AnomalyDetector | None:
    """The committed detector, or None where none is listed in the manifest (the policy then runs unwatched)."""
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
                 quantile: float = 0.99, min_frames: int = 200) -> tuple[AnomalyDetector, dict[str, Any]]:
    """Fit one Gaussian per skill on `fit_episodes` (boolean (E,) mask), calibrate the limit on `val_episodes`.

    Returns the detector and a report per skill (frames used, limit, the share of held-out normal frames
    over it, which is 1 - quantile by construction, and of the fitting frames, which shows overfit).
    """
    if not 0.5 <= quantile < 1.0:
        raise ConfigError(f"quantile={quantile} must lie in [0.5, 1)")
    if policy.path is None:
        raise ConfigError("fit the anomaly detector on a saved policy checkpoint (its sha256 ties the two)")
    models: dict[str, SkillModel] = {}
    report: dict[str, Any] = {}
    for skill in sorted(set(ts.ep_skill_name)):
        fit_rows = ts.subset_episodes(fit_episodes & (np.array(ts.ep_skill_name) == skill))
        val_rows = ts.subset_episodes(val_episodes & (np.array(ts.ep_skill_name) == skill))
        if len(fit_rows) < min_frames or len(val_rows) < min_frames // 4:
            report[skill] = {"skipped": f"{len(fit_rows)} fitting / {len(val_rows)} held-out frames"}
            continue
        fit_x, val_x = embeddings(policy, ts, fit_rows), embeddings(policy, ts, val_rows)
        lw = LedoitWolf().fit(fit_x)
        probe = SkillModel(lw.location_, lw.precision_, 1.0)
        limit = float(np.quantile(probe.distance(val_x), quantile))
        models[skill] = SkillModel(lw.location_, lw.precision_, limit)
        report[skill] = {
            "fit_frames": int(len(fit_rows)), "val_frames": int(len(val_rows)), "limit": round(limit, 3),
            "shrinkage": round(float(lw.shrinkage_), 4),
            "fit_over_limit": round(float(np.mean(probe.distance(fit_x) > limit)), 4),
        }
    if not models:
        raise ConfigError(f"no skill has enough frames to fit an anomaly model: {report}")
    meta = {"dataset_frames": int(ts.num_frames), "report": report}
    return AnomalyDetector(models, sha256_of(policy.path), quantile, meta), report
