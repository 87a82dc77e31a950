"""What kitchen objects are and afford: the words for kinds of things and what each kind can do.

Both halves of the planner ask it: the language half ("the fruit", "a container") to ground words in
tokens, the feasibility half (can this be picked up, put into, wiped with) to check steps. A token's
`category` (from perception or the simulator) decides first; its label's words second, so a new object
with a known category or a known kind of name works without code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hvla.core.messages import ObjectToken

FRUIT_LABELS = frozenset(
    {"banana", "apple", "lemon", "lime", "orange", "pear", "peach", "mango", "plum", "strawberry", "grape",
     "kiwi", "apricot", "cherry", "nectarine", "tangerine", "clementine", "avocado", "tomato", "fig"}
)
# Receptacles: a place target must be one of these (or a token of category "container").
RECEPTACLE_LABELS = frozenset(
    {"bowl", "plate", "cup", "mug", "glass", "dish", "tray", "basket", "box", "bin", "pot", "pan", "sink",
     "container", "jar", "saucer"}
)
# What the wipe skill can hold to wipe with.
WIPING_LABELS = frozenset({"sponge", "cloth", "rag", "towel", "dishcloth", "wipe", "scrubber", "brush"})
# Fixtures: things in the scene that are never grasped.
FIXTURE_LABELS = frozenset({"sink", "counter", "table", "shelf", "stove", "faucet", "tap"})


def norm_label(label: str) -> str:
    """`Fruit_Bowl` -> `fruit bowl`: labels compare as lower-case words."""
    return label.replace("_", " ").replace("-", " ").strip().lower()


def _label_words(tok: ObjectToken) -> set[str]:
    return set(norm_label(tok.label).split())


RECEPTACLE_CATEGORIES = frozenset({"container", "surface"})  # bowl, cup; plate
NOT_GRASPABLE_CATEGORIES = RECEPTACLE_CATEGORIES | {"region", "fixture"}  # "region": the dirt patch on the counter
MOVABLE_CATEGORY = "object"  # a world's word for a thing that can be moved, whatever else it affords


def is_receptacle(tok: ObjectToken) -> bool:
    """Something to put things into or onto: a container (bowl, cup), a surface (plate) or the sink."""
    return tok.category in RECEPTACLE_CATEGORIES or bool(_label_words(tok) & RECEPTACLE_LABELS)


def is_graspable(tok: ObjectToken) -> bool:
    """Something the gripper picks up: fruit, tools, small objects. Containers, regions, fixtures are not,
    unless the world calls the thing a movable "object" (LIBERO's bowls and mugs are picked up by the rim)."""
    if tok.category == MOVABLE_CATEGORY:
        return True
    if tok.category in NOT_GRASPABLE_CATEGORIES or is_receptacle(tok):
        return False
    return not (_label_words(tok) & FIXTURE_LABELS)


def is_wiping_tool(tok: ObjectToken) -> bool:
    """Something the wipe skill can wipe with (a sponge, a cloth)."""
    return bool(_label_words(tok) & WIPING_LABELS)


def is_openable(tok: ObjectToken) -> bool:
    """A drawer or a door: something whose perception says how it moves (its articulation), not a switch."""
    return tok.articulation is not None and not tok.articulation.switch


def is_switchable(tok: ObjectToken) -> bool:
    """A knob or a switch (a stove's): turned on and off."""
    return tok.articulation is not None and tok.articulation.switch


AFFORDANCES: Mapping[str, Callable[[ObjectToken], bool]] = {
    "graspable": is_graspable,
    "receptacle": is_receptacle,
    "wiping_tool": is_wiping_tool,
    "openable": is_openable,
    "switchable": is_switchable,
}
