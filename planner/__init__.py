"""Instruction -> Plan. `PLANNERS.get("offline")()` is the default planner (rules + MiniLM + planner head).

Backends (registry names): "offline" (default, nothing downloaded), "rules" (the rules alone, no model),
"hf" (a local Hugging Face causal LM scores the candidate steps), "http" (an OpenAI-compatible endpoint).

Public API:
    Planner (protocol), PLANNERS (registry), OfflinePlanner, OfflineConfig, RuleBasedPlanner, RuleBasedConfig,
    HFPlanner, HFConfig, HTTPPlanner, HTTPConfig,
    PlannerHead, EmbeddingScorer, MiniLMEncoder, shared_encoder,
    Grounder, GroundingConfig, Grounding, ObjectQuery, PhraseScorer, LexicalScorer, parse_object_phrase,
    parse_instruction, SKILLS, validate_plan, check_step,
    AmbiguityError, ObjectNotFoundError, InfeasibleError (all `hvla.core.errors.GroundingError`s),
    BackendError (a backend that cannot answer).
"""

from hvla.planner.backends.hf import HFConfig, HFPlanner
from hvla.planner.backends.http_api import HTTPConfig, HTTPPlanner
from hvla.planner.backends.offline import OfflineConfig, OfflinePlanner
from hvla.planner.backends.rules import RuleBasedConfig, RuleBasedPlanner
from hvla.planner.base import Planner
from hvla.planner.errors import AmbiguityError, BackendError, InfeasibleError, ObjectNotFoundError
from hvla.planner.feasibility.affordance import FeasibilityConfig, check_step
from hvla.planner.feasibility.validation import validate_plan
from hvla.planner.head.model import PlannerHead
from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder
from hvla.planner.language.grounding import (
    Grounder,
    Grounding,
    GroundingConfig,
    LexicalScorer,
    ObjectQuery,
    PhraseScorer,
    parse_object_phrase,
)
from hvla.planner.language.parsing import parse_instruction
from hvla.planner.language.semantic import EmbeddingScorer
from hvla.planner.language.vocab import SKILLS
from hvla.planner.ontology import is_graspable, is_receptacle, is_wiping_tool
from hvla.planner.registry import PLANNERS

__all__ = [
    "PLANNERS",
    "SKILLS",
    "AmbiguityError",
    "BackendError",
    "EmbeddingScorer",
    "FeasibilityConfig",
    "Grounder",
    "Grounding",
    "GroundingConfig",
    "HFConfig",
    "HFPlanner",
    "HTTPConfig",
    "HTTPPlanner",
    "InfeasibleError",
    "LexicalScorer",
    "MiniLMEncoder",
    "ObjectNotFoundError",
    "ObjectQuery",
    "OfflineConfig",
    "OfflinePlanner",
    "PhraseScorer",
    "Planner",
    "PlannerHead",
    "RuleBasedConfig",
    "RuleBasedPlanner",
    "check_step",
    "is_graspable",
    "is_receptacle",
    "is_wiping_tool",
    "parse_instruction",
    "parse_object_phrase",
    "shared_encoder",
    "validate_plan",
]
