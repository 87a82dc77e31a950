"""Perception: Observation -> Scene of ObjectTokens. Importing it registers the built-in implementations."""

from hvla.perception import oracle as _oracle  # noqa: F401  (registers "oracle")
