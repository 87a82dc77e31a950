"""Phrase scoring beyond the lexicon: unknown modifiers, unknown nouns, objects perception cannot name.

`EmbeddingScorer` is a `PhraseScorer` (see `hvla.planner.language.grounding`) that keeps the lexical scores
whenever the lexicon decides and adds three things where it does not:

1. Unknown words *before* a known noun are modifiers and do not block it ("the squishy sponge",
   "every piece of fruit"). Unknown words after the noun may be the real noun ("the lemon squeezer")
   and still refuse.
2. Objects that perception reports without a class ("object", "fruit", ...) ground by what a noun
   implies about them: "put the mango in the bowl" takes the orange-yellow, fruit-sized, unlabelled
   object, using `PRIORS` (category, usual colours, size). A labelled token always wins over this.
3. A noun the lexicon lacks is compared with each token's description by MiniLM sentence embeddings
   ("the scouring pad" ~ "a green sponge, a tool"); only a clear winner (absolute similarity and margin)
   counts. Unlabelled tokens can still match through the category the noun's embedding is closest to
   ("the papaya" ~ "a piece of fruit").

Scores stay below the lexical ones (label 1.0, synonym 0.95, category 0.9): priors 0.75, embeddings 0.7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import ObjectToken
from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder
from hvla.planner.language.grounding import LexicalScorer, ObjectQuery, color_match
from hvla.planner.ontology import norm_label


@dataclass(frozen=True)
class ObjectPrior:
    """What a noun says about an object perception could not name: its category, usual colours and the
    range of its longest side [m]."""

    category: str
    colors: frozenset[str]
    size_m: tuple[float, float]


def _prior(category: str, colors: str, lo: float, hi: float) -> ObjectPrior:
    return ObjectPrior(category, frozenset(colors.split()), (lo, hi))


PRIORS: Mapping[str, ObjectPrior] = MappingProxyType(
    {
        "banana": _prior("fruit", "yellow green", 0.12, 0.25),
        "apple": _prior("fruit", "red green yellow", 0.05, 0.10),
        "lemon": _prior("fruit", "yellow", 0.05, 0.11),
        "lime": _prior("fruit", "green", 0.04, 0.08),
        "orange": _prior("fruit", "orange", 0.06, 0.11),
        "pear": _prior("fruit", "green yellow brown", 0.07, 0.14),
        "peach": _prior("fruit", "orange pink red yellow", 0.05, 0.10),
        "mango": _prior("fruit", "orange yellow green red", 0.08, 0.18),
        "plum": _prior("fruit", "purple red", 0.03, 0.08),
        "strawberry": _prior("fruit", "red", 0.02, 0.06),
        "grape": _prior("fruit", "green purple", 0.01, 0.04),
        "kiwi": _prior("fruit", "brown green", 0.04, 0.09),
        "apricot": _prior("fruit", "orange yellow", 0.03, 0.07),
        "cherry": _prior("fruit", "red", 0.01, 0.04),
        "nectarine": _prior("fruit", "red orange yellow", 0.05, 0.10),
        "tangerine": _prior("fruit", "orange", 0.04, 0.09),
        "clementine": _prior("fruit", "orange", 0.04, 0.08),
        "avocado": _prior("fruit", "green black brown", 0.07, 0.15),
        "tomato": _prior("fruit", "red orange yellow green", 0.03, 0.10),
        "fig": _prior("fruit", "purple green brown", 0.03, 0.07),
        "sponge": _prior("tool", "yellow green blue pink", 0.06, 0.16),
        "cup": _prior("container", "white red blue green black yellow", 0.06, 0.12),
        "mug": _prior("container", "white red blue green black yellow", 0.06, 0.12),
        "bowl": _prior("container", "white blue green red yellow", 0.10, 0.30),
        "plate": _prior("surface", "white grey blue", 0.15, 0.32),
        "block": _prior("distractor", "purple cyan brown red blue green yellow", 0.02, 0.08),
    }
)
# Labels that say what kind of thing a token is but not which: such tokens are "unidentified".
GENERIC_LABELS = frozenset({"object", "thing", "item", "unknown", "stuff", "fruit", "food", "produce", "container",
                            "tool", "toy"})
# Categories an unidentified token may have and still be anything.
OPEN_CATEGORIES = frozenset({"object", "unknown", ""})
_CATEGORY_PROTOTYPES: Mapping[str, str] = MappingProxyType(
    {
        "fruit": "a piece of fresh fruit",
        "container": "a bowl, cup or container to put things in",
        "surface": "a plate or tray",
        "tool": "a sponge or cloth for cleaning",
        "distractor": "a toy block",
    }
)


def is_unidentified(tok: ObjectToken) -> bool:
    """Perception saw the object but could not name its class."""
    label = norm_label(tok.label)
    return label in GENERIC_LABELS or label == tok.category.lower()


def describe_for_embedding(tok: ObjectToken) -> str:
    """ "a light yellow banana, a fruit": what the embedding of a phrase is compared with."""
    label = norm_label(tok.label)
    text = f"a {tok.color_name} {label}".strip()
    return text if tok.category in (label, "object", "") else f"{text}, a {tok.category}"


@dataclass(frozen=True)
class EmbeddingScorerConfig:
    """min_similarity / min_margin: a phrase with an unknown noun matches a token only when their
    cosine similarity is at least `min_similarity` and beats every other token's by `min_margin`
    (tokens within the margin tie, and the grounder asks which). Measured on MiniLM: related nouns and
    descriptions score 0.45-0.8, unrelated ones 0.1-0.35."""

    min_similarity: float = 0.5
    min_margin: float = 0.06
    category_similarity: float = 0.4
    category_margin: float = 0.1  # "the papaya" -> fruit 0.42, next 0.27; "the fridge" -> fruit 0.41, next 0.34
    prior_score: float = 0.75
    embedding_score: float = 0.7
    modifier_penalty: float = 0.95
    size_slack: float = 0.25  # a prior's size range is widened by this fraction on both ends

    def __post_init__(self) -> None:
        if not 0 < self.min_similarity < 1 or not 0 <= self.min_margin < 1:
            raise ConfigError("min_similarity must be in (0, 1) and min_margin in [0, 1)")


@dataclass
class EmbeddingScorer:
    """Lexical scores first; priors and MiniLM embeddings where the lexicon cannot decide (module doc)."""

    encoder: MiniLMEncoder = field(default_factory=shared_encoder)
    config: EmbeddingScorerConfig = field(default_factory=EmbeddingScorerConfig)
    lexical: LexicalScorer = field(default_factory=LexicalScorer)

    def score(self, query: ObjectQuery, tokens: Sequence[ObjectToken]) -> list[float]:
        if not tokens or query.unknown_after_head:
            return self.lexical.score(query, tokens)  # refuses: the unknown word may be the real noun
        if query.unknown:
            known = replace(query, unknown=(), unknown_after_head=())
            if known.head is not None and known.head.sense.kind not in ("generic", "region"):
                scores = self._lexical_or_prior(known, tokens)
                return [s * self.config.modifier_penalty for s in scores]
            return self._unknown_noun(query, tokens)
        return self._lexical_or_prior(query, tokens)

    # ------------------------------------------------------------------------------------------ parts

    def _lexical_or_prior(self, q: ObjectQuery, tokens: Sequence[ObjectToken]) -> list[float]:
        scores = self.lexical.score(q, tokens)
        if max(scores) >= 0.5 or q.head is None or q.head.sense.kind != "label":
            return scores
        prior = PRIORS.get(q.head.word)
        if prior is None:
            return scores
        return [self._prior_fit(prior, q, t) for t in tokens]

    def _prior_fit(self, prior: ObjectPrior, q: ObjectQuery, tok: ObjectToken) -> float:
        if not is_unidentified(tok) or not (tok.category in OPEN_CATEGORIES or tok.category == prior.category):
            return 0.0
        if tok.color_name and color_match(tuple(prior.colors), tok.color_name, every=False) == 0.0:
            return 0.0
        if q.colors and color_match(q.colors, tok.color_name) == 0.0:
            return 0.0
        lo, hi = prior.size_m
        size = float(max(tok.extent_m))
        if not lo * (1 - self.config.size_slack) <= size <= hi * (1 + self.config.size_slack):
            return 0.0
        return self.config.prior_score

    def _unknown_noun(self, q: ObjectQuery, tokens: Sequence[ObjectToken]) -> list[float]:
        """A phrase whose noun the lexicon lacks: the token its embedding clearly points at, if any."""
        cfg = self.config
        phrase = self.encoder.embed([q.text])[0]
        sims = self.encoder.embed([describe_for_embedding(t) for t in tokens]) @ phrase
        best = float(sims.max())
        if best >= cfg.min_similarity:
            scores = [cfg.embedding_score if best - s <= cfg.min_margin else 0.0 for s in sims]
        else:
            scores = self._by_category(phrase, tokens)
        if q.colors:
            scores = [s * color_match(q.colors, t.color_name) for s, t in zip(scores, tokens, strict=True)]
        return scores

    def _by_category(self, phrase: np.ndarray, tokens: Sequence[ObjectToken]) -> list[float]:
        names = list(_CATEGORY_PROTOTYPES)
        sims = self.encoder.embed([_CATEGORY_PROTOTYPES[n] for n in names]) @ phrase
        order = np.argsort(-sims)
        best, second = float(sims[order[0]]), float(sims[order[1]])
        if best < self.config.category_similarity or best - second < self.config.category_margin:
            return [0.0] * len(tokens)
        category = names[int(order[0])]
        return [
            self.config.embedding_score if is_unidentified(t) and t.category in (category, *OPEN_CATEGORIES) else 0.0
            for t in tokens
        ]
