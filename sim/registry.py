"""Worlds by name: `WORLDS.build("kitchen", KitchenConfig(), seed=3, image_size=224)`.

A world factory takes its typed config, the scene `seed` and the `image_size` its cameras render at, and
returns a `hvla.core.world.World`. Importing `hvla.sim` registers hvla's own kitchen.
"""

from __future__ import annotations

from hvla.core.registry import Registry

WORLDS: Registry = Registry("world")
