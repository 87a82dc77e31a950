"""End-to-end checkpoints: weights + config + input layout + metrics, refused loudly when they do not fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hvla.core.artifacts import resolve_artifact
from hvla.core.errors import CheckpointError
from hvla.skills.data import schema
from hvla.skills.e2e.images import CAMERAS
from hvla.skills.e2e.model import E2EConfig, EndToEndPolicy
from hvla.skills.policy import features as ft
from hvla.skills.policy.checkpoint import atomic_torch_save, read_checkpoint

FORMAT = "hvla-e2e-policy/1"
ARTIFACT = "skills/e2e.pt"
MAKE_COMMAND = "hvla train e2e (the exact commands are in the docstring of benchmarks/approaches.py)"


def input_layout() -> dict[str, Any]:
    return {"cameras": list(CAMERAS), "chunk_k": schema.CHUNK_K, "history": list(ft.HISTORY),
            "proprio_features": ft.PROPRIO_FEATURES}


@dataclass
class LoadedE2E:
    model: EndToEndPolicy
    meta: dict[str, Any]
    path: Path | None = None


def save_e2e(path: Path, model: EndToEndPolicy, meta: dict[str, Any]) -> None:
    atomic_torch_save({"format": FORMAT, "config": model.config.to_json(), "layout": input_layout(),
                       "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": meta}, path)


def load_e2e(path: Path | None = None) -> LoadedE2E:
    """Load `path`, or the committed artefact (checksum-checked) when None.

    Raises:
        CheckpointError: missing, unreadable, another format, input layout or config.
    """
    path = Path(path) if path is not None else resolve_artifact(ARTIFACT, MAKE_COMMAND)
    payload = read_checkpoint(path, FORMAT, input_layout(), "end-to-end", "hvla train e2e")
    try:
        model = EndToEndPolicy(E2EConfig.from_json(payload["config"]))
        model.load_state_dict(payload["state_dict"], strict=True)
    except (TypeError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit config {payload.get('config')}: {exc}") from None
    model.eval()
    return LoadedE2E(model, payload.get("meta", {}), path)
