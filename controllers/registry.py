"""Controllers by name. Importing `hvla.controllers` registers the built-in ones."""

from __future__ import annotations

from hvla.core.registry import Registry

CONTROLLERS: Registry[type] = Registry("controller")
