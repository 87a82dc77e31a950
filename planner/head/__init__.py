"""The learned planner head: a role per word (MiniLM word vectors -> GRU tagger), trained on generated
instructions (`hvla train planner-head`), used by the offline backend where the rules cannot read.

Public API:
    PlannerHead, Tagged, canonical_instruction
"""

from hvla.planner.head.model import PlannerHead, Tagged, canonical_instruction

__all__ = ["PlannerHead", "Tagged", "canonical_instruction"]
