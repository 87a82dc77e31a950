"""LIBERO's object classes as hvla's tokens name them: label words and hvla's coarse category.

The words come from LIBERO's own class names (its object registry and the BDDL `:objects` / `:fixtures`
blocks: "alphabet_soup" -> "alphabet soup", "akita_black_bowl" -> "akita black bowl"), never from a list of
its task sentences. The category says what a thing affords, as the kitchen's tokens do: a fixture (table,
cabinet, stove: never picked up), a container (the BDDL gives it a `contain_region`, so things go in it),
or an object to pick up.
"""

from __future__ import annotations

import numpy as np

# Colour words LIBERO's class names carry ("akita_black_bowl", "red_coffee_mug", "white_yellow_mug", "black_book"),
# with a plain RGB for each; a class without one is "unknown" (its textures would have to be looked at).
COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.05, 0.05, 0.05), "white": (0.95, 0.95, 0.95), "red": (0.8, 0.1, 0.1), "yellow": (0.95, 0.85, 0.2),
    "green": (0.2, 0.65, 0.3), "blue": (0.2, 0.35, 0.85), "brown": (0.5, 0.33, 0.2), "grey": (0.6, 0.6, 0.6),
    "gray": (0.6, 0.6, 0.6), "pink": (0.95, 0.6, 0.7), "purple": (0.55, 0.25, 0.7),
}


def label_of(category: str) -> str:
    """`alphabet_soup` -> `alphabet soup`; LIBERO-PRO's variant suffixes stay words too."""
    return category.replace("_", " ").strip()


def hvla_category(category: str, fixture: bool, has_contain_region: bool) -> str:
    if fixture:
        return "fixture"
    if has_contain_region:
        return "container"
    return "object"


# Materials whose colour goes without saying in a class name ("porcelain_mug" is white, "wooden_tray" brown):
# the words a person would use for the thing's colour ("the white mug").
MATERIAL_COLOURS: dict[str, str] = {"porcelain": "white", "ceramic": "white", "wooden": "brown", "wood": "brown",
                                    "chocolate": "brown", "steel": "grey", "metal": "grey"}


def colour_of(category: str) -> tuple[str, np.ndarray]:
    """The colour words of the class name ("white_yellow_mug" -> "white yellow", the first one's RGB), else the
    colour its material implies ("porcelain_mug" -> white), else ("unknown", zeros)."""
    words = category.split("_")
    named = [w for w in words if w in COLOURS]
    if not named:
        named = [MATERIAL_COLOURS[w] for w in words if w in MATERIAL_COLOURS][:1]
    if not named:
        return "unknown", np.zeros(3)
    return " ".join(named), np.array(COLOURS[named[0]])
