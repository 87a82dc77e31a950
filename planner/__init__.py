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

from hvla.planner.backends import (
    HFConfig,
    HFPlanner,
    HTTPConfig,
    HTTPPlanner,
    OfflineConfig,
    OfflinePlanner,
    RuleBasedConfig,
    RuleBasedPlanner,
)
from hvla.planner.base import Planner
from hvla.planner.errors import AmbiguityError, BackendError, InfeasibleError, ObjectNotFoundError
from hvla.planner.feasibility import FeasibilityConfig, check_step, validate_plan
from hvla.planner.head import PlannerHead
from hvla.planner.language import (
    SKILLS,
    EmbeddingScorer,
    Grounder,
    Grounding,
    GroundingConfig,
    LexicalScorer,
    MiniLMEncoder,
    ObjectQuery,
    PhraseScorer,
    parse_instruction,
    parse_object_phrase,
    shared_encoder,
)
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
