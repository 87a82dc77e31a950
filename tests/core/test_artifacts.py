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


def test_an_artefacts_folder_of_ones_own_comes_first_and_the_checkout_fills_in(tmp_path, monkeypatch):
    from hvla.core import artifacts

    monkeypatch.setenv(artifacts.ARTIFACTS_ENV, str(tmp_path))
    (tmp_path / "skills").mkdir()
    mine = tmp_path / "skills" / "policy.pt"
    mine.write_bytes(b"retrained")
    assert register_artifact(mine, "hvla train policy", {})["path"] == "skills/policy.pt"  # into $HVLA_ARTIFACTS
    assert [f.origin for f in artifacts.search_path()] == [artifacts.FROM_ENV, artifacts.FROM_CHECKOUT]
    assert resolve_artifact("skills/policy.pt", "hvla train policy") == mine
    shipped = resolve_artifact("planner_head.npz", "hvla train planner-head")
    assert shipped == artifacts.PACKAGE_ROOT / "artifacts" / "planner_head.npz"
    assert artifacts.read_manifest()["skills/policy.pt"]["command"] == "hvla train policy"


def test_an_installed_package_reads_its_own_artefacts_and_refuses_to_write_there(tmp_path, monkeypatch):
    from hvla.core import artifacts
    from hvla.core.errors import ReadOnlyArtifactsError

    monkeypatch.setattr(artifacts, "PACKAGE_ROOT", tmp_path / "site-packages" / "hvla")  # no pyproject.toml
    monkeypatch.delenv(artifacts.ARTIFACTS_ENV, raising=False)
    monkeypatch.delenv(artifacts.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert [f.origin for f in artifacts.search_path()] == [artifacts.FROM_PACKAGE]
    with pytest.raises(ReadOnlyArtifactsError, match=r"read-only.*HVLA_ARTIFACTS"):
        artifacts.writable_artifacts_dir()
    with pytest.raises(ReadOnlyArtifactsError):
        register_artifact(tmp_path / "x.pt", "hvla train x", {})
    assert artifacts.cache_dir() == tmp_path / "cache" / "hvla"  # exports go to the user's cache
    monkeypatch.setenv(artifacts.ARTIFACTS_ENV, str(tmp_path / "mine"))
    assert artifacts.writable_artifacts_dir() == (tmp_path / "mine").resolve()
