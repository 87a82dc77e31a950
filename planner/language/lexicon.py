"""Words for objects and their attributes: what a noun phrase may say about the thing it means.

Scene labels need not be listed here: the grounder adds every label and instance name it sees, so
"put the kiwi in the bowl" works when perception reports a `kiwi`. The lexicon adds synonyms,
categories ("fruit", "container") and functional descriptions ("the thing you wipe with").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hvla.planner.ontology import FRUIT_LABELS, RECEPTACLE_LABELS


@dataclass(frozen=True)
class NounSense:
    """What a head noun can denote.

    kind: "label" (a class, matched by label; `labels` holds it and its synonyms), "name" (one instance),
    "category" (any token whose category is in `categories` or whose label is in `labels`),
    "affordance" (any token an affordance predicate accepts), "generic" ("one", "thing": anything),
    "region" (a surface such as the counter: never an object token).
    """

    kind: str
    labels: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[str] = field(default_factory=frozenset)
    affordance: str | None = None


def _label(*labels: str) -> NounSense:
    return NounSense("label", labels=frozenset(labels))



_WIPERS = frozenset({"sponge", "cloth", "rag", "towel", "dishcloth", "scrubber"})
_FLAT_LABELS = frozenset({"plate", "dish", "tray", "saucer"})

NOUNS: Mapping[str, NounSense] = MappingProxyType(
    {
        **{fruit: _label(fruit) for fruit in FRUIT_LABELS},
        "citrus": NounSense("category", labels=frozenset({"lemon", "lime", "orange", "tangerine", "clementine"})),
        "fruit": NounSense("category", labels=FRUIT_LABELS, categories=frozenset({"fruit"})),
        "produce": NounSense("category", labels=FRUIT_LABELS, categories=frozenset({"fruit"})),
        "food": NounSense("category", labels=FRUIT_LABELS, categories=frozenset({"fruit"})),
        "bowl": _label("bowl"),
        "plate": _label("plate", "dish", "saucer"),
        "dish": _label("dish", "plate"),
        "saucer": _label("saucer", "plate"),
        "cup": _label("cup", "mug"),
        "mug": _label("mug", "cup"),
        "glass": _label("glass", "cup"),
        "tray": _label("tray"),
        "basket": _label("basket"),
        "box": _label("box"),
        "bin": _label("bin"),
        "pot": _label("pot"),
        "pan": _label("pan"),
        "jar": _label("jar"),
        "sink": _label("sink"),
        "basin": _label("sink", "basin"),
        # A container holds things inside it: a plate or tray is a receptacle ("put it on the plate") but not one.
        "container": NounSense(
            "category", labels=RECEPTACLE_LABELS - _FLAT_LABELS, categories=frozenset({"container"})
        ),
        "receptacle": NounSense("category", labels=RECEPTACLE_LABELS, categories=frozenset({"container", "surface"})),
        "sponge": _label("sponge"),
        **{w: _label(w, *_WIPERS) for w in ("cloth", "rag", "towel", "dishcloth", "scrubber")},
        "wiper": NounSense("affordance", affordance="wiping_tool"),
        "surface": NounSense("category", labels=frozenset({"plate", "tray"}), categories=frozenset({"surface"})),
        "tool": NounSense("category", categories=frozenset({"tool"})),
        "utensil": NounSense("category", categories=frozenset({"tool"})),
        "block": _label("block", "cube"),
        "cube": _label("cube", "block"),
        "ball": _label("ball"),
        "can": _label("can"),
        "bottle": _label("bottle"),
        "toy": _label("toy"),
        "distractor": NounSense("category", categories=frozenset({"distractor"})),
        # A function word the grounder rewrites "the thing you wipe with" into (see FUNCTION_PHRASES).
        "__wiper__": NounSense("affordance", affordance="wiping_tool"),
        "__holder__": NounSense("affordance", affordance="receptacle"),
        **{w: NounSense("generic") for w in ("one", "thing", "object", "item", "stuff", "something", "anything")},
        "everything": NounSense("generic"),
        **{w: NounSense("region") for w in ("counter", "countertop", "table", "tabletop", "worktop", "dirt")},
    }
)

# Descriptions of what a thing is for, rewritten to a function word before the phrase is parsed; a relative
# clause that only says where a thing is ("whatever is nearest the plate", "the one that's on the left")
# loses its "that is".
FUNCTION_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:what|whatever|whichever)\s+(?:is|'s|sits|lies|stands)\b"), " the thing "),
    (re.compile(r"\bwhichever\s+(one|thing|fruit|object|item|container)\s+(?:is|'s|sits|lies|stands)\b"), r" the \1 "),
    (re.compile(r"\b(one|thing|fruit|object|item|container)\s+(?:that|which)\s+(?:is|'s|sits|lies|stands)\b"), r"\1 "),
    (re.compile(r"\b(one|thing|fruit|object|item|container)\s+(?:that's|which's)\b"), r"\1 "),
    (
        re.compile(
            r"\b(?:(?:that|which)\s+)?(?:you|we|i|one|people)?\s*(?:can\s+|could\s+|would\s+|should\s+)?"
            r"(?:use\s+(?:to|for)\s+|used\s+(?:to|for)\s+)?(?:to\s+)?(?:wipe|clean|scrub|mop|wash)\s*"
            r"(?:things|stuff|up|the\s+counter|the\s+table)?\s+with\b"
        ),
        " __wiper__ ",
    ),
    (
        re.compile(r"\b(?:(?:that|which)\s+)?(?:is\s+)?(?:used\s+)?for\s+(?:wiping|cleaning|scrubbing|mopping)\b"),
        " __wiper__ ",
    ),
    (re.compile(r"\b(?:wiping|cleaning|scrubbing)\b"), " __wiper__ "),
    (
        re.compile(
            r"\b(?:(?:that|which)\s+)?(?:you|we|i|one)?\s*(?:can\s+|could\s+)?(?:to\s+)?"
            r"(?:put|place|keep|hold|store|serve)\s+(?:things|stuff|fruit|food|objects|items)\s+(?:in|into|on)\b"
        ),
        " __holder__ ",
    ),
)

COLORS = frozenset(
    {"red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "brown", "grey", "gray",
     "silver", "beige", "violet", "cyan", "magenta", "gold", "golden", "tan", "cream", "navy", "teal"}
)
COLOR_SYNONYMS: Mapping[str, str] = MappingProxyType({"gray": "grey", "golden": "gold", "violet": "purple"})

# Shape words: picked between objects by how elongated their box is, the way size words pick by volume.
SHAPE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("long", "longer", "longest", "elongated", "oblong", "slender", "skinny", "thin",
                         "thinner", "thinnest", "narrow", "curved", "bent", "crescent"), "long"),
        **dict.fromkeys(("round", "rounder", "roundest", "spherical", "circular", "stubby"), "round"),
    }
)
SIZE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("big", "bigger", "biggest", "large", "larger", "largest", "huge", "giant", "tall",
                         "taller", "tallest"), "big"),
        **dict.fromkeys(("small", "smaller", "smallest", "little", "tiny", "short", "shorter", "shortest",
                         "mini"), "small"),
    }
)
# Position words, in the robot's (world) frame: the robot sits at the origin looking along +x, so
# left is +y, right is -y, near is small x and far is large x.
SIDE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("left", "leftmost", "lefthand"), "left"),
        **dict.fromkeys(("right", "rightmost", "righthand"), "right"),
        **dict.fromkeys(("middle", "center", "centre", "central", "centermost"), "middle"),
    }
)
DEPTH_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("near", "nearest", "nearer", "closest", "closer", "close", "front", "frontmost"), "near"),
        **dict.fromkeys(("far", "farthest", "furthest", "farther", "further", "back", "rear", "distant",
                         "backmost"), "far"),
    }
)
# Nouns that may follow a position word and add nothing ("on the left side", "at the far end").
# Words that name where a thing sits in its package, not another thing: "the cream cheese box" is the cheese.
PACKAGING_NOUNS = frozenset({"box", "carton", "bottle", "can", "tin", "jar", "pack", "packet", "package", "bag",
                             "tub", "tube", "container"})
# "from table center", "at the centre of the table": the middle of the scene.
CENTRE_WORDS = frozenset({"table", "center", "centre", "middle", "of", "the"})
POSITION_TAILS = frozenset({"side", "hand", "end", "corner", "edge", "half", "part", "most"})

DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "these", "those", "some", "any", "my", "your", "our", "its", "their",
     "of", "is", "are", "which", "who", "it's", "that's"}
)
QUANTIFIERS_ALL = frozenset({"all", "every", "each", "both", "everything"})
NUMBERS: Mapping[str, int] = MappingProxyType(
    {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}
)
# Adjectives that do not change which object is meant; anything else unknown is refused, not ignored.
HARMLESS_ADJECTIVES = frozenset(
    {"ripe", "fresh", "whole", "empty", "dirty", "clean", "wet", "kitchen", "round", "long", "real", "actual",
     "single", "lone", "only", "same", "coloured", "colored", "please"}
)
# Words that make a relation to a landmark ("the apple next to the bowl", "the cup near you").
ROBOT_WORDS = frozenset({"you", "me", "us", "robot", "base", "yourself", "gripper", "arm", "i"})

PRONOUNS = frozenset({"it", "them", "that", "this", "those", "these", "they"})
PLURAL_PRONOUNS = frozenset({"them", "those", "these", "they"})


def singular(word: str) -> tuple[str, bool]:
    """(singular form, was plural) for a noun; the word itself when no rule applies."""
    if word in NOUNS or len(word) <= 3:
        return word, False
    for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("oes", "o"), ("sses", "ss"),
                         ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss"):
            stem = word[: -len(suffix)] + repl
            if stem in NOUNS:
                return stem, True
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1], True
    return word, False
