"""Planners chosen by name (`PLANNERS.get("rules")`). Importing `hvla.planner` registers the built-ins."""

from __future__ import annotations

from hvla.core.registry import Registry

PLANNERS: Registry[type] = Registry("planner")
