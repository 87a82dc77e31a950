"""Instruction -> Plan. `PLANNERS.get("rules")()` is the offline rule-based planner.

Public API:
    Planner (protocol), PLANNERS (registry), RuleBasedPlanner, RuleBasedConfig,
    Grounder, GroundingConfig, Grounding, ObjectQuery, PhraseScorer, LexicalScorer, parse_object_phrase,
    parse_instruction, SKILLS, validate_plan, check_step,
    AmbiguityError, ObjectNotFoundError, InfeasibleError (all `hvla.core.errors.GroundingError`s).
"""

from hvla.planner.affordance import FeasibilityConfig, check_step, is_graspable, is_receptacle, is_wiping_tool
from hvla.planner.base import Planner
from hvla.planner.errors import AmbiguityError, InfeasibleError, ObjectNotFoundError
from hvla.planner.grounding import (
    Grounder,
    Grounding,
    GroundingConfig,
    LexicalScorer,
    ObjectQuery,
    PhraseScorer,
    parse_object_phrase,
)
from hvla.planner.parsing import parse_instruction
from hvla.planner.registry import PLANNERS
from hvla.planner.rule_based import RuleBasedConfig, RuleBasedPlanner
from hvla.planner.skills_vocab import SKILLS
from hvla.planner.validation import validate_plan

__all__ = [
    "PLANNERS",
    "SKILLS",
    "AmbiguityError",
    "FeasibilityConfig",
    "Grounder",
    "Grounding",
    "GroundingConfig",
    "InfeasibleError",
    "LexicalScorer",
    "ObjectNotFoundError",
    "ObjectQuery",
    "PhraseScorer",
    "Planner",
    "RuleBasedConfig",
    "RuleBasedPlanner",
    "check_step",
    "is_graspable",
    "is_receptacle",
    "is_wiping_tool",
    "parse_instruction",
    "parse_object_phrase",
    "validate_plan",
]
