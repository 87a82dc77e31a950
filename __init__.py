"""hvla: a hierarchical hybrid vision-language-action stack for robot manipulation.

The package maps the repository's top-level folders (`core/`, `sim/`, `controllers/`, ...) to
`hvla.core`, `hvla.sim`, ... (see pyproject.toml). Importing it pins the process to offline,
headless defaults before any heavy library is imported: nothing in hvla may reach a network.
"""

from __future__ import annotations

import os

# Set before mujoco / ultralytics / transformers are imported anywhere in the process.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__version__ = "0.1.0"
