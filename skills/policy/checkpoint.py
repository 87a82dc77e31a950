"""Policy checkpoints: weights + model config + feature layout + text table + dataset hash + metrics.

A checkpoint made with another feature layout (slots, token fields, history, chunk length) or a
model config that does not match its weights is refused with a `CheckpointError` naming the
difference, never loaded into a silently wrong network.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hvla.core.artifacts import resolve_artifact
from hvla.core.errors import CheckpointError
from hvla.core.files import atomic_write_bytes
from hvla.skills.data import schema
from hvla.skills.policy import features as ft
from hvla.skills.policy.model import ObjectCentricPolicy, PolicyConfig
from hvla.skills.policy.text import TextTable

FORMAT = "hvla-skill-policy/1"
ARTIFACT = "skills/policy.pt"
MAKE_COMMAND = ("hvla data record (x4 skills), then hvla train policy ... --register; "
                "the exact commands are in the docstring of benchmarks/skills.py")
# The committed policy of each world: (artefact, how to make it).
COMMITTED = {
    "kitchen": (ARTIFACT, MAKE_COMMAND),
    "libero": ("skills/libero_policy.pt", "hvla data record-libero --cameras '' --out data/libero_demos, then hvla "
                                          "train policy --data data/libero_demos --skills pick,place,pick_place,push "
                                          "--register --artifact skills/libero_policy.pt (README: LIBERO, learned)"),
}


def feature_layout() -> dict[str, Any]:
    """What the network's inputs and outputs mean; a checkpoint must agree with this code."""
    return {
        "n_slots": schema.N_SLOTS, "token_fields": list(schema.TOKEN_FIELDS), "categories": list(schema.CATEGORIES),
        "chunk_k": schema.CHUNK_K, "history": list(ft.HISTORY), "roles": list(ft.ROLES),
        "obj_features": ft.OBJ_FEATURES, "proprio_features": ft.PROPRIO_FEATURES, "max_args": ft.MAX_ARGS,
    }


@dataclass
class LoadedPolicy:
    model: ObjectCentricPolicy
    text: TextTable
    meta: dict[str, Any]  # dataset hash, training config, metrics
    path: Path | None = None


def save_policy(path: Path, model: ObjectCentricPolicy, text: TextTable, meta: dict[str, Any]) -> None:
    """Write atomically (a crash never leaves half a checkpoint)."""
    payload = {
        "format": FORMAT,
        "config": model.config.to_json(),
        "layout": feature_layout(),
        "texts": list(text.texts),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta,
    }
    atomic_torch_save(payload, path)


def atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    """`torch.save` to a temporary file, fsync, rename: a crash never leaves half a checkpoint."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_policy(path: Path | None = None, world: str = "kitchen") -> LoadedPolicy:
    """Load `path`, or the committed artefact of `world` (checksum-checked) when None.

    Raises:
        CheckpointError: missing, corrupt, another format, another feature layout or config; no committed policy
            for `world`.
    """
    if path is None and world not in COMMITTED:
        raise CheckpointError(f"no committed skill policy for world '{world}' (worlds with one: {sorted(COMMITTED)}); "
                              "train one with `hvla train policy` and give its checkpoint")
    path = Path(path) if path is not None else resolve_artifact(*COMMITTED[world])
    payload = read_checkpoint(path, FORMAT, feature_layout(), "policy", "hvla train policy")
    try:
        config = PolicyConfig.from_json(payload["config"])
        state = payload["state_dict"]
        model = ObjectCentricPolicy(config, state["text_table"])
        model.load_state_dict(state, strict=True)
    except (TypeError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit config {payload.get('config')}: {exc}") from None
    model.eval()
    text = TextTable(payload["texts"], state["text_table"].numpy())
    return LoadedPolicy(model, text, payload.get("meta", {}), path)


def read_checkpoint(path: Path, fmt: str, layout: dict[str, Any], what: str, make: str) -> dict[str, Any]:
    """The payload of a checkpoint of format `fmt` whose input layout equals `layout` (this code's).

    Raises:
        CheckpointError: missing, unreadable, another format, another layout (each difference named).
    """
    if not path.exists():
        raise CheckpointError(f"missing {what} checkpoint {path}; train one with `{make}`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged zip/pickle
        raise CheckpointError(f"unreadable {what} checkpoint {path}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: format {got!r}, expected {fmt!r}")
    diff = {k: (payload["layout"].get(k), v) for k, v in layout.items() if payload["layout"].get(k) != v}
    if diff:
        listing = ", ".join(f"{k}: checkpoint {a} vs code {b}" for k, (a, b) in diff.items())
        raise CheckpointError(f"{path} was trained with another input layout ({listing}); retrain it")
    return payload


def dataset_hash(roots: list[Path]) -> str:
    """Content hash of datasets' metadata (the episodes table holds per-episode stats of every column)."""
    digest = hashlib.sha256()
    for root in roots:
        for rel in ("meta/info.json", "meta/episodes/chunk-000/file-000.parquet", "meta/tasks.parquet"):
            path = Path(root) / rel
            digest.update(rel.encode())
            digest.update(path.read_bytes() if path.exists() else b"missing")
    return digest.hexdigest()[:16]
