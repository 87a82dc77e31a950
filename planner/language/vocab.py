"""The skills a planner may emit: their names, argument roles, and the English that asks for them.

This is the whole output vocabulary of every planner backend. A subgoal whose skill is not in `SKILLS`,
or whose argument is neither a scene object nor one of its role's fixed `choices`, is never emitted
(`hvla.planner.feasibility.validation.validate_plan` enforces it for all backends).

Words are stored as tuples of lower-case words so the parser matches phrases word by word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True)
class RoleSpec:
    """One argument of a skill. `affordance` names the predicate in `hvla.planner.feasibility.affordance` that a
    grounded object must satisfy; a role with `choices` takes one of those fixed strings instead."""

    name: str
    affordance: str  # "graspable" | "receptacle" | "wiping_tool" | "region"
    choices: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class SkillSpec:
    name: str
    roles: tuple[RoleSpec, ...]
    summary: str

    def role_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def role(self, name: str) -> RoleSpec:
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)


PICK = "pick"
PLACE = "place"
PICK_PLACE = "pick_place"
WIPE = "wipe"

REGIONS: tuple[str, ...] = ("counter",)

_OBJECT = RoleSpec("object", "graspable")
_TARGET = RoleSpec("target", "receptacle")

SKILLS: Mapping[str, SkillSpec] = MappingProxyType(
    {
        PICK: SkillSpec(PICK, (_OBJECT,), "grasp the object and lift it; the gripper then holds it"),
        PLACE: SkillSpec(PLACE, (_OBJECT, _TARGET), "put the already grasped object into/onto the target"),
        PICK_PLACE: SkillSpec(
            PICK_PLACE, (_OBJECT, _TARGET), "grasp the object and put it into/onto the target (gripper free)"
        ),
        WIPE: SkillSpec(
            WIPE,
            (RoleSpec("region", "region", REGIONS, "counter"), RoleSpec("tool", "wiping_tool")),
            "take the tool (unless held), wipe the region's dirt with it, set it down (gripper free)",
        ),
    }
)


class Intent(StrEnum):
    """What a clause asks for, before grounding decides the exact skill (pick_place vs place)."""

    PUT = "put"  # move an object to a target: pick_place, or place when it is already held
    PICK = "pick"  # grasp an object; with a destination ("take X to Y") it becomes a put
    WIPE = "wipe"  # wipe a region with a tool


def _phrases(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t.split()) for t in texts)


# Verb phrases (and the past forms that "after you ..." clauses use) mapped to what they ask for.
_VERBS_BY_INTENT: dict[Intent, tuple[tuple[str, ...], ...]] = {
    Intent.PUT: _phrases(
        "put", "put away", "place", "drop", "drop off", "move", "set", "tidy", "tidy up", "tidy away",
        "clear", "clear away", "clear up", "transfer", "bring", "carry", "stick", "pop", "store", "load",
        "deposit", "relocate", "stash", "return", "placed", "dropped", "moved", "tidied", "tidied up",
        "cleared", "transferred", "brought", "carried", "stored", "returned", "putting", "placing", "moving",
        "dropping", "clearing", "tidying",
    ),
    Intent.PICK: _phrases(
        "pick up", "pick", "grab", "grasp", "take", "take out", "lift", "lift up", "get", "hold", "fetch",
        "retrieve", "collect", "gather", "seize", "picked up", "picked", "grabbed", "grasped", "taken",
        "took", "lifted", "got", "fetched", "collected", "gathered", "picking up", "grabbing", "taking",
    ),
    Intent.WIPE: _phrases(
        "wipe", "wipe down", "wipe up", "wipe off", "clean", "clean up", "clean off", "clean down", "scrub",
        "scrub down", "mop", "mop up", "wash", "wash down", "sponge down", "wiped", "wiped down",
        "cleaned", "cleaned up", "scrubbed", "mopped", "washed", "wiping", "wiping down", "cleaning", "scrubbing",
    ),
}

VERBS: Mapping[tuple[str, ...], Intent] = MappingProxyType(
    {phrase: intent for intent, phrases in _VERBS_BY_INTENT.items() for phrase in phrases}
)
# Longest first, so "pick up" wins over "pick" and "wipe down" over "wipe".
VERB_PHRASES: tuple[tuple[str, ...], ...] = tuple(sorted(VERBS, key=len, reverse=True))

# Words after a verb that add nothing ("put the apple back in the bowl", "pick it up").
PARTICLES = frozenset({"up", "down", "away", "back", "off", "out"})

# Where a put goes. PICK verbs only take the directional ones: "pick up the apple in the bowl" names
# which apple, while "take the apple to the bowl" names a destination.
DIRECTIONAL_PREPOSITIONS = _phrases(
    "over into", "over onto", "over to", "in to", "on to", "into", "onto", "to", "towards", "toward"
)
TARGET_PREPOSITIONS = tuple(
    sorted(DIRECTIONAL_PREPOSITIONS + _phrases("on top of", "inside of", "inside", "in", "on"), key=len, reverse=True)
)
TOOL_PREPOSITIONS = frozenset({"with", "using"})

# What "wipe ___" may name. Every one of them means the single wipeable region, the counter.
REGION_NOUNS = frozenset(
    {
        "counter", "counters", "countertop", "worktop", "table", "tabletop", "top", "surface", "bench",
        "workspace", "spill", "spills", "mess", "dirt", "stain", "stains", "spot", "area", "patch", "crumbs",
        "smudge", "grime",
    }
)
REGION_FILLERS = frozenset(
    {"the", "a", "this", "that", "whole", "entire", "dirty", "wet", "sticky", "kitchen", "of", "on", "off",
     "up", "down", "part", "and", ",", "your", "my", "all"}
)
