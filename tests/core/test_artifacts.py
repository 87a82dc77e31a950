import pytest

from hvla.core.artifacts import register_artifact, resolve_artifact
from hvla.core.errors import CheckpointError


def test_registered_artifact_resolves_and_corruption_is_named(tmp_path):
    manifest = tmp_path / "MANIFEST"
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"weights")
    entry = register_artifact(weights, "hvla train x", {"acc": 0.9}, manifest)
    assert entry["metrics"] == {"acc": 0.9} and len(entry["sha256"]) == 64
    assert resolve_artifact("model.pt", "hvla train x", manifest) == weights
    weights.write_bytes(b"corrupt")
    with pytest.raises(CheckpointError, match=r"corrupt.*hvla train x"):
        resolve_artifact("model.pt", "hvla train x", manifest)
    with pytest.raises(CheckpointError, match="missing artefact"):
        resolve_artifact("other.pt", "hvla train y", manifest)
