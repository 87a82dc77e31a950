"""LIBERO's object classes as hvla's tokens name them: label words and hvla's coarse category.

The words come from LIBERO's own class names (its object registry and the BDDL `:objects` / `:fixtures`
blocks: "alphabet_soup" -> "alphabet soup", "akita_black_bowl" -> "akita black bowl"), never from a list of
its task sentences. The category says what a thing affords, as the kitchen's tokens do: a fixture (table,
cabinet, stove: never picked up), a container (the BDDL gives it a `contain_region`, so things go in it),
or an object to pick up.
"""

from __future__ import annotations


def label_of(category: str) -> str:
    """`alphabet_soup` -> `alphabet soup`; LIBERO-PRO's variant suffixes stay words too."""
    return category.replace("_", " ").strip()


def hvla_category(category: str, fixture: bool, has_contain_region: bool) -> str:
    if fixture:
        return "fixture"
    if has_contain_region:
        return "container"
    return "object"
