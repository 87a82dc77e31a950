"""Trained artefacts (detector, skill policy, planner head): where they live, how they were made.

`MANIFEST` (in each artefacts folder) is a JSON-lines file, one object per artefact:
`{"path", "sha256", "bytes", "command", "metrics", "created"}`. Loading an artefact checks its
checksum, so a corrupt or stale file fails loudly with the command that remakes it.

Where artefacts are read from, per artefact, the first folder that holds it:
1. `$HVLA_ARTIFACTS`, a folder of your own (retrained models, say), when set;
2. the source checkout's `artifacts/` (a clone, installed with `pip install -e .`), or else
3. the installed package's copy (`hvla/artifacts/` in the wheel), read-only.
New artefacts (`register_artifact`, the `--register` of `hvla train ...`) go to the first folder: in an
installed package without `$HVLA_ARTIFACTS` that is refused with a `ReadOnlyArtifactsError`, since
files written into site-packages would be lost by the next upgrade and unknown to pip.

Derived files (the ONNX exports) are not artefacts: they live in `cache_dir()`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hvla.core.errors import CheckpointError, ReadOnlyArtifactsError

log = logging.getLogger(__name__)

ARTIFACTS_ENV = "HVLA_ARTIFACTS"
CACHE_ENV = "HVLA_CACHE"
# The folder that is `hvla`: the repository root in a checkout, site-packages/hvla once installed.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
FROM_ENV, FROM_CHECKOUT, FROM_PACKAGE = f"${ARTIFACTS_ENV}", "source checkout", "installed package"


@dataclass(frozen=True)
class ArtifactsFolder:
    """One folder of the search path and where it comes from (`FROM_ENV`, `FROM_CHECKOUT`, `FROM_PACKAGE`)."""

    path: Path
    origin: str
    manifest_name: str = "MANIFEST"

    @property
    def manifest(self) -> Path:
        return self.path / self.manifest_name


def in_checkout() -> bool:
    """True when hvla runs from its source tree (the wheel ships no pyproject.toml)."""
    return (PACKAGE_ROOT / "pyproject.toml").is_file()


def search_path() -> tuple[ArtifactsFolder, ...]:
    """The folders artefacts are read from, in order (read from the environment at each call)."""
    folders = []
    if env := os.environ.get(ARTIFACTS_ENV, "").strip():
        folders.append(ArtifactsFolder(Path(env).expanduser().resolve(), FROM_ENV))
    if in_checkout():
        folders.append(ArtifactsFolder(PACKAGE_ROOT / "artifacts", FROM_CHECKOUT))
    else:  # a wheel is installed as plain files, so the package's resources are real paths
        folders.append(ArtifactsFolder(Path(str(importlib.resources.files("hvla").joinpath("artifacts"))),
                                       FROM_PACKAGE))
    return tuple(folders)


ARTIFACTS_DIR = search_path()[0].path  # where new artefacts are registered (and looked for first)
MANIFEST = ARTIFACTS_DIR / "MANIFEST"


def writable_artifacts_dir() -> Path:
    """The folder new artefacts are written to.

    Raises:
        ReadOnlyArtifactsError: hvla is an installed package and `$HVLA_ARTIFACTS` is not set, or the
            folder cannot be written.
    """
    first = search_path()[0]
    if first.origin == FROM_PACKAGE:
        raise ReadOnlyArtifactsError(
            f"hvla is installed as a package: its artefacts in {first.path} are read-only. Set ${ARTIFACTS_ENV} "
            "to a folder of your own to register new ones there (artefacts it lacks are still read from the package)"
        )
    first.path.mkdir(parents=True, exist_ok=True)
    if not os.access(first.path, os.W_OK):
        raise ReadOnlyArtifactsError(f"the artefacts folder {first.path} ({first.origin}) is not writable")
    return first.path


def cache_dir() -> Path:
    """Where derived files (ONNX exports, keyed by their source's checksum) are kept, outside git.

    `$HVLA_CACHE`, else the checkout's `data/cache`, else the user's cache (`$XDG_CACHE_HOME/hvla`).
    """
    if env := os.environ.get(CACHE_ENV, "").strip():
        return Path(env).expanduser()
    if in_checkout():
        return PACKAGE_ROOT / "data" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hvla"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_one(manifest: Path) -> dict[str, dict[str, Any]]:
    if not manifest.exists():
        return {}
    entries = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["path"]] = entry
    return entries


def read_manifest(manifest: Path | None = None) -> dict[str, dict[str, Any]]:
    """Entries by path relative to the artefacts folder: of `manifest`, else of the whole search path
    (an earlier folder's entry hides a later one's, as its file does)."""
    if manifest is not None:
        return _read_one(manifest)
    entries: dict[str, dict[str, Any]] = {}
    for folder in reversed(search_path()):
        entries.update(_read_one(folder.manifest))
    return entries


def register_artifact(path: Path, command: str, metrics: dict[str, Any], manifest: Path | None = None) -> dict:
    """Record (or replace) the entry for `path`, written atomically, in `manifest` (default: the MANIFEST
    of `writable_artifacts_dir()`, which `path` must lie in).

    Raises:
        ReadOnlyArtifactsError: see `writable_artifacts_dir`.
        CheckpointError: `path` is not inside the manifest's folder.
    """
    manifest = Path(manifest) if manifest is not None else writable_artifacts_dir() / "MANIFEST"
    path = Path(path).resolve()
    try:
        rel = str(path.relative_to(manifest.parent.resolve()))
    except ValueError:
        raise CheckpointError(f"{path} lies outside the artefacts folder {manifest.parent}") from None
    entries = read_manifest(manifest)
    entries[rel] = {
        "path": rel, "sha256": sha256_of(path), "bytes": path.stat().st_size, "command": command,
        "metrics": metrics, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    text = "".join(json.dumps(entries[k], sort_keys=True) + "\n" for k in sorted(entries))
    fd, tmp = tempfile.mkstemp(dir=manifest.parent, prefix=".MANIFEST.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the manifest is meant to be read by everyone
    os.replace(tmp, manifest)
    return entries[rel]


def resolve_artifact(rel_path: str, make_command: str, manifest: Path | None = None) -> Path:
    """The checked path of a committed artefact: in `manifest`'s folder, else the first folder of the
    search path that holds it.

    Raises:
        CheckpointError: missing file, no manifest entry, or a checksum that does not match.
    """
    if manifest is not None:
        folders = [ArtifactsFolder(Path(manifest).parent, "given", Path(manifest).name)]
    else:
        folders = list(search_path())
    found = next((f for f in folders if (f.path / rel_path).exists()), None)
    if found is None:
        where = ", ".join(f"{f.path} ({f.origin})" for f in folders)
        raise CheckpointError(f"missing artefact {rel_path} (looked in {where}); make it with: {make_command}")
    path = found.path / rel_path
    entry = read_manifest(found.manifest).get(rel_path)
    if entry is None:
        raise CheckpointError(f"artefact {path} is not listed in {found.manifest}; remake it with: {make_command}")
    if sha256_of(path) != entry["sha256"]:
        raise CheckpointError(f"artefact {path} is corrupt (sha256 mismatch); remake it with: {make_command}")
    log.info("artefact %s from %s (%s)", rel_path, path, found.origin)
    return path
