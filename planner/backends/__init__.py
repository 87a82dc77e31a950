"""Planner backends by registry name: "rules" (no model), "offline" (default: rules + MiniLM + head),
"hf" (a local Hugging Face causal LM scores feasible steps), "http" (an OpenAI-compatible endpoint).

Importing this package registers all four in `PLANNERS`.

Public API:
    RuleBasedPlanner, RuleBasedConfig, OfflinePlanner, OfflineConfig, HFPlanner, HFConfig, HTTPPlanner, HTTPConfig
"""

from hvla.planner.backends.hf import HFConfig, HFPlanner
from hvla.planner.backends.http_api import HTTPConfig, HTTPPlanner
from hvla.planner.backends.offline import OfflineConfig, OfflinePlanner
from hvla.planner.backends.rules import RuleBasedConfig, RuleBasedPlanner

__all__ = [
    "HFConfig",
    "HFPlanner",
    "HTTPConfig",
    "HTTPPlanner",
    "OfflineConfig",
    "OfflinePlanner",
    "RuleBasedConfig",
    "RuleBasedPlanner",
]
