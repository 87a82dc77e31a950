"""Can this step succeed from here (SayCan's value): affordances, the simulated plan state, every
feasible candidate step for the model backends, and the validation every plan passes.

Public API:
    FeasibilityConfig, check_step, feasibility, is_graspable, is_receptacle, is_wiping_tool, PlanState,
    Candidate, candidates, validate_plan
"""

from hvla.planner.feasibility.affordance import FeasibilityConfig, check_step, feasibility
from hvla.planner.feasibility.candidates import Candidate, candidates
from hvla.planner.feasibility.state import PlanState
from hvla.planner.feasibility.validation import validate_plan
from hvla.planner.ontology import is_graspable, is_receptacle, is_wiping_tool

__all__ = [
    "Candidate",
    "FeasibilityConfig",
    "PlanState",
    "candidates",
    "check_step",
    "feasibility",
    "is_graspable",
    "is_receptacle",
    "is_wiping_tool",
    "validate_plan",
]
