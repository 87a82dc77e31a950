"""How an operator might phrase one skill: the end-to-end network's only notion of the task.

Training draws a phrasing per sample from `TRAIN_TEMPLATES`, so the network learns the task from
the sentence's meaning (MiniLM embedding), not from one fixed string; the benchmark phrases its
tasks with `HELD_OUT_TEMPLATES`, which training never saw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hvla.core.errors import MessageError
from hvla.skills.policy.features import arg_text

TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "pick": ("pick up the {object}", "grab the {object}", "lift the {object}", "take the {object}",
             "get the {object} off the table"),
    "pick_place": ("put the {object} {prep} the {target}", "place the {object} {prep} the {target}",
                   "move the {object} to the {target}", "set the {object} {prep} the {target}",
                   "take the {object} and put it {prep} the {target}"),
    "place": ("put it {prep} the {target}", "place what you hold {prep} the {target}",
              "set it down {prep} the {target}"),
    "wipe": ("wipe the counter", "clean the counter", "wipe the dirty spot with the {tool}",
             "scrub the table with the {tool}"),
}
HELD_OUT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "pick": ("could you pick the {object} up", "raise the {object} from the counter"),
    "pick_place": ("I would like the {object} {prep} the {target}", "transfer the {object} to the {target}"),
    "place": ("drop it {prep} the {target}",),
    "wipe": ("please wipe down the countertop", "clean up the mess on the counter"),
}


def _prep(target: str) -> str:
    return "in" if target in ("bowl", "cup", "basket") else "on"


def phrase(skill: str, args: Mapping[str, str], template: str) -> str:
    words = {k: arg_text(v) for k, v in args.items()}
    words.setdefault("tool", "sponge")
    words["prep"] = _prep(words.get("target", ""))
    try:
        return template.format(**words)
    except KeyError as exc:
        raise MessageError(f"'{template}' needs argument {exc} that {skill}{dict(args)} does not have") from None


def phrasings(skill: str, args: Mapping[str, str], held_out: bool = False) -> list[str]:
    """Every phrasing of one subgoal from the training (or held-out) templates."""
    table = HELD_OUT_TEMPLATES if held_out else TRAIN_TEMPLATES
    if skill not in table:
        raise MessageError(f"no phrasing for skill '{skill}'; known: {sorted(table)}")
    return [phrase(skill, args, t) for t in table[skill]]


def sample_phrasing(skill: str, args: Mapping[str, str], rng: np.random.Generator, held_out: bool = False) -> str:
    options = phrasings(skill, args, held_out)
    return options[int(rng.integers(len(options)))]
