"""Trained artefacts (detector, skill policy, planner head): where they live, how they were made.

`artifacts/MANIFEST` is a JSON-lines file, one object per artefact:
`{"path", "sha256", "bytes", "command", "metrics", "created"}`. Loading an artefact checks its
checksum, so a corrupt or stale file fails loudly with the command that remakes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from hvla.core.errors import CheckpointError

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts"
MANIFEST = ARTIFACTS_DIR / "MANIFEST"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(manifest: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    """Entries by path relative to the artefacts folder."""
    if not manifest.exists():
        return {}
    entries = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["path"]] = entry
    return entries


def register_artifact(path: Path, command: str, metrics: dict[str, Any], manifest: Path = MANIFEST) -> dict:
    """Record (or replace) the entry for `path`, written atomically."""
    path = Path(path).resolve()
    rel = str(path.relative_to(manifest.parent.resolve()))
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


def resolve_artifact(rel_path: str, make_command: str, manifest: Path = MANIFEST) -> Path:
    """The checked path of a committed artefact.

    Raises:
        CheckpointError: missing file, no manifest entry, or a checksum that does not match.
    """
    path = manifest.parent / rel_path
    if not path.exists():
        raise CheckpointError(f"missing artefact {path}; make it with: {make_command}")
    entry = read_manifest(manifest).get(rel_path)
    if entry is None:
        raise CheckpointError(f"artefact {path} is not listed in {manifest}; remake it with: {make_command}")
    if sha256_of(path) != entry["sha256"]:
        raise CheckpointError(f"artefact {path} is corrupt (sha256 mismatch); remake it with: {make_command}")
    return path
