"""Skills: scripted experts and learned policies. Importing it registers the built-in implementations."""

from hvla.skills import e2e as _e2e  # noqa: F401  (registers "e2e")
from hvla.skills import policy as _learned  # noqa: F401  (registers "learned"; torch loads on first use)
from hvla.skills.scripted import policy as _scripted  # noqa: F401  (registers "scripted")
