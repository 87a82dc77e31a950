"""The bodies the console accepts, validated before anything is built.

Strict types (a seed is a JSON integer, not "3" or 3.5), no unknown fields (a misspelt "sede" would
otherwise be ignored silently), and implementation names checked against the registries, so a bad
request is a 422 naming the field and what it accepts, never an exception in the worker.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hvla.core.registry import Registry
from hvla.orchestration.builder import PERCEPTION, PLANNERS, SKILL_POLICIES

SEED_MAX = 2**31 - 1  # numpy's seeds are unsigned; MuJoCo's scene sampler takes 32-bit ones
INSTRUCTION_MAX_CHARS = 500


def _known(registry: Registry, name: str | None) -> str | None:
    if name is not None and name not in registry:
        raise ValueError(f"unknown {registry.kind} '{name}'; known: {registry.names()}")
    return name


class RunRequest(BaseModel):
    """Plan (and run) `instruction` in the kitchen of `seed`; None picks the console's default implementation."""

    model_config = ConfigDict(extra="forbid", strict=True)

    instruction: str = Field(min_length=1, max_length=INSTRUCTION_MAX_CHARS)
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    perception: str | None = None
    planner: str | None = None
    skills: str | None = None
    approval: bool = False  # step-approval mode: the operator approves each subgoal before it starts

    @field_validator("instruction")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the instruction is blank: type what the robot should do")
        return value

    @field_validator("perception")
    @classmethod
    def _perception(cls, value: str | None) -> str | None:
        return _known(PERCEPTION, value)

    @field_validator("planner")
    @classmethod
    def _planner(cls, value: str | None) -> str | None:
        return _known(PLANNERS, value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: str | None) -> str | None:
        return _known(SKILL_POLICIES, value)


class ApprovalRequest(BaseModel):
    """The operator's decision on the subgoal that waits: its id (so a late click cannot approve the next one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    subgoal_id: str = Field(min_length=1, max_length=64)
    approve: bool
