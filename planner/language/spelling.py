"""Typos read as the words they were meant to be: "put the aple in the bwol" is "put the apple in the bowl".

Used only once the rules have failed to read an instruction as typed, so nothing that reads today is changed.
A word is respelled when it is no English word the encoder's vocabulary holds (so "would", "dish" or "cap" are
never touched), it has at least three letters, and exactly one word the planner could use (a word of the
scene's objects, a command verb, a preposition, a determiner) is within one edit of it (two for words of seven
letters or more; a swap of two letters is one edit). Ambiguous typos stay as typed, and are refused as unknown
words, naming them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from rapidfuzz.distance import DamerauLevenshtein

from hvla.core.messages import Scene
from hvla.planner.language.lexicon import DETERMINERS, QUANTIFIERS_ALL
from hvla.planner.language.vocab import DIRECTIONAL_PREPOSITIONS, REGION_NOUNS, TARGET_PREPOSITIONS, VERBS

_COMMAND_WORDS = frozenset(
    {w for phrase in VERBS for w in phrase}
    | {w for phrase in TARGET_PREPOSITIONS for w in phrase}
    | {w for phrase in DIRECTIONAL_PREPOSITIONS for w in phrase}
    | set(DETERMINERS) | set(QUANTIFIERS_ALL) | set(REGION_NOUNS)
    | {"then", "and", "after", "before", "first", "fruit"}
)


def scene_words(scene: Scene) -> frozenset[str]:
    """Every word of the scene's object labels and names, and the words commands are made of."""
    words = set(_COMMAND_WORDS)
    for tok in scene.tokens:
        for text in (tok.label, tok.name):
            words.update(w for w in text.lower().replace("_", " ").split() if w.isalpha())
    return frozenset(words)


def respell(words: Iterable[str], known: Collection[str], english: Collection[str]) -> tuple[list[str], list[str]]:
    """`words` with each typo replaced by the one known word it is close to; and a note per replacement
    ("'aple' read as 'apple'")."""
    out, notes = [], []
    for w in words:
        fixed = _nearest(w, known) if w.isalpha() and len(w) >= 3 and w not in known and w not in english else None
        out.append(fixed or w)
        if fixed:
            notes.append(f"'{w}' read as '{fixed}'")
    return out, notes


def _nearest(word: str, known: Collection[str]) -> str | None:
    limit = 2 if len(word) >= 7 else 1
    close = [k for k in known if abs(len(k) - len(word)) <= limit
             and DamerauLevenshtein.distance(word, k, score_cutoff=limit) <= limit]
    return close[0] if len(close) == 1 else None
