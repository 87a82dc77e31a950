"""Finished benchmark episodes as JSON lines, keyed: a stopped run resumes, a re-run only adds what is new.

Each row is appended and fsynced as it finishes, so a kill loses at most the episode that was running; a
last line cut by the kill is skipped when the file is read back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JsonlCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
                if isinstance(row, dict) and "key" in row:
                    self.rows[row["key"]] = row

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def add(self, key: str, row: dict[str, Any]) -> None:
        row = {**row, "key": key}
        self.rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
