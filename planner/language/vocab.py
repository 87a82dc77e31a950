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
    affordance: str  # "graspable" | "receptacle" | "wiping_tool" | "region" | "openable" | "switchable"
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
OPEN, CLOSE, TURN_ON, TURN_OFF = "open", "close", "turn_on", "turn_off"
PUSH = "push"

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
        PUSH: SkillSpec(PUSH, (_OBJECT, _TARGET), "push the object along the table onto the target (gripper free)"),
        OPEN: SkillSpec(OPEN, (RoleSpec("object", "openable"),), "open a drawer or a door (gripper free)"),
        CLOSE: SkillSpec(CLOSE, (RoleSpec("object", "openable"),), "close a drawer or a door (gripper free)"),
        TURN_ON: SkillSpec(TURN_ON, (RoleSpec("object", "switchable"),), "turn a knob or switch on (gripper free)"),
        TURN_OFF: SkillSpec(TURN_OFF, (RoleSpec("object", "switchable"),), "turn a knob or switch off (gripper free)"),
    }
)


class Intent(StrEnum):
    """What a clause asks for, before grounding decides the exact skill (pick_place vs place)."""

    PUT = "put"  # move an object to a target: pick_place, or place when it is already held
    PICK = "pick"  # grasp an object; with a destination ("take X to Y") it becomes a put
    WIPE = "wipe"  # wipe a region with a tool
    PUSH = "push"  # slide an object over the table to a target, without picking it up
    OPEN = "open"  # open a drawer or a door
    CLOSE = "close"  # close one
    TURN_ON = "turn_on"  # turn a stove's knob (a switch) on
    TURN_OFF = "turn_off"


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
    Intent.PUSH: _phrases("push", "slide", "shove", "nudge", "pushed", "slid", "pushing", "sliding"),
    Intent.OPEN: _phrases("open", "open up", "pull open", "opened", "opening"),
    Intent.CLOSE: _phrases("close", "shut", "push shut", "push closed", "closed", "shutting", "closing"),
    Intent.TURN_ON: _phrases("turn on", "switch on", "power on", "turned on", "switched on",
                             "turning on"),
    Intent.TURN_OFF: _phrases("turn off", "switch off", "power off", "turned off", "switched off", "turning off"),
}
# The skill each one-object intent asks for ("open the drawer" -> open(object=drawer)).
PART_SKILL_OF: Mapping[Intent, str] = MappingProxyType(
    {Intent.OPEN: OPEN, Intent.CLOSE: CLOSE, Intent.TURN_ON: TURN_ON, Intent.TURN_OFF: TURN_OFF}
)
PART_SKILLS = frozenset(PART_SKILL_OF.values())
HAND_FREE_SKILLS = PART_SKILLS | {PUSH}  # skills that need the gripper empty

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


# Words that ask for what no skill does: a place relative to a thing other than in or on it, and repetition.
# The planner head may read past them (it was trained to find actions, not to refuse); they are refused by name.
UNSUPPORTED_WORDS: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(("under", "underneath", "beneath", "below", "behind", "above"),
                    "I can put things in or on something, not {word} it"),
    **dict.fromkeys(("forever", "repeatedly", "continuously", "endlessly", "twice", "thrice", "times"),
                    "I do each step once; say every step you want"),
})
