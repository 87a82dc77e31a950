"""Noun phrase -> the scene objects it means ("the yellow fruit" -> banana).

Three steps, each replaceable:
1. `parse_object_phrase` reads the words into an `ObjectQuery`: a head noun (label, synonym, category,
   function such as "the thing you wipe with"), colours, size, position and a landmark relation.
2. A `PhraseScorer` says how well each token matches what the phrase says the object *is* (head and
   colour), in [0, 1]. `LexicalScorer` is the default here; the offline planner uses
   `hvla.planner.language.semantic.EmbeddingScorer` (lexicon first, then object priors and MiniLM similarity).
3. `Grounder` keeps the best-scoring tokens, lets the caller's affordance preference break ties, applies
   the relational words (left/right, near/far, big/small, next to X) and refuses what stays ambiguous.

Frames: the robot base sits at the origin looking along +x, so left is +y and near is small x.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from hvla.core.errors import ConfigError, GroundingError
from hvla.core.messages import ObjectToken, Scene
from hvla.planner.errors import AmbiguityError, ObjectNotFoundError
from hvla.planner.language.lexicon import (
    CENTRE_WORDS,
    COLOR_SYNONYMS,
    COLORS,
    DEPTH_WORDS,
    DETERMINERS,
    FUNCTION_PHRASES,
    HARMLESS_ADJECTIVES,
    NOUNS,
    NUMBERS,
    PACKAGING_NOUNS,
    POSITION_TAILS,
    QUANTIFIERS_ALL,
    ROBOT_WORDS,
    SHAPE_WORDS,
    SIDE_WORDS,
    SIZE_WORDS,
    NounSense,
    singular,
)
from hvla.planner.language.parsing import Words, normalize
from hvla.planner.ontology import AFFORDANCES, norm_label

# ------------------------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class Head:
    """The noun a phrase is about, as written (singular) and what it can denote."""

    word: str
    sense: NounSense


@dataclass(frozen=True)
class ObjectQuery:
    """What a noun phrase says about the object(s) it means. `text` is the phrase as written."""

    text: str
    head: Head | None = None
    colors: tuple[str, ...] = ()
    size: str | None = None  # "big" | "small"
    shape: str | None = None  # "long" (an elongated box) | "round" (a box as wide as it is long)
    side: str | None = None  # "left" (+y) | "right" (-y) | "middle"
    depth: str | None = None  # "near" (small x) | "far" (large x)
    landmark: ObjectQuery | None = None  # "the apple next to the bowl": the bowl
    landmark_far: bool = False  # "farthest from the bowl"
    landmark_holds: bool = False  # "in the bowl", "on the plate": the landmark holds it (for "everything on ...")
    between: tuple[ObjectQuery, ObjectQuery] | None = None  # "the bowl between the plate and the ramekin"
    centre: bool = False  # "the bowl from table center": the one nearest the middle of the scene
    plural: bool = False  # "all the fruit", "the apples": every match, not exactly one
    count: int | None = None  # "both", "the two apples"
    unknown: tuple[str, ...] = ()  # words the parser could not place
    beside: str | None = None  # "the left of the plate": a place beside a thing ("left of"), no thing itself
    unknown_after_head: tuple[str, ...] = ()  # those of them that came after the head noun

    @property
    def has_selectors(self) -> bool:
        return self.centre or any(v is not None for v in (self.size, self.shape, self.side, self.depth,
                                                          self.landmark, self.between))

    @property
    def is_empty(self) -> bool:
        return self.head is None and not self.colors and not self.has_selectors and not self.unknown


_REL_WORDS: Mapping[Words, bool] = {  # relation -> True when it means "far from"
    ("next", "to"): False, ("close", "to"): False, ("closest", "to"): False, ("nearest", "to"): False,
    ("near", "to"): False, ("near",): False, ("nearest",): False, ("closest",): False, ("beside",): False,
    ("by",): False, ("from",): False, ("in",): False, ("inside",): False, ("on",): False,
    ("on", "top", "of"): False, ("at",): False, ("under",): False, ("behind",): False,
    ("farthest", "from"): True, ("furthest", "from"): True, ("far", "from"): True, ("away", "from"): True,
}
_REL_PHRASES = tuple(sorted(_REL_WORDS, key=len, reverse=True))
_HOLDING_RELATIONS = frozenset({("in",), ("inside",), ("on",), ("on", "top", "of")})
_ADJECTIVE_RELATIONS = frozenset({("near",), ("nearest",), ("closest",)})  # "the nearest apple"
_QUALIFIER_PREPS = frozenset({"on", "at", "in", "to", "towards", "toward"})
_NOUN_FOLLOWERS = frozenset({"in", "on", "at", "to", "near", "next", "by", "beside", "from", "that", "which",
                             "with", "closest", "nearest", "farthest", "furthest", "and"})


def scene_heads(tokens: Sequence[ObjectToken]) -> dict[Words, NounSense]:
    """Head nouns the scene adds to the lexicon: every label (one or more words) and instance name."""
    heads: dict[Words, NounSense] = {}

    def add(words: Words, label: str) -> None:
        old = heads.get(words)
        heads[words] = NounSense("label", labels=(old.labels if old else frozenset()) | {label})

    for t in tokens:
        label = norm_label(t.label)
        if label:
            words = tuple(label.split())
            add(words, label)
            # A noun phrase is named by its last word: "glazed rim porcelain ramekin" is a ramekin, "flat
            # stove" a stove; a plural label ("cookies") also answers to its singular ("the cookie box").
            last = words[-1]
            # "right of the plate" names a place beside a thing, not that thing: no last-word head.
            forms = {last, singular(last)[0]} if "of" not in words else set()
            for word in forms:
                if len(words) > 1 or word != last:
                    add((word,), label)
            # A label that opens with a colour or size ("red cream cheese", "bigger alphabet soup": LIBERO-PRO's
            # replaced objects) is also named without it: "the cream cheese" is that thing.
            bare = words
            while len(bare) > 2 and (bare[0] in COLORS or bare[0] in COLOR_SYNONYMS or bare[0] in SIZE_WORDS):
                bare = bare[1:]  # one word at a time: "cream" of "red cream cheese" is a colour word too
                add(bare, label)
        name = t.name.lower()
        if name and name != label:
            heads[(name,)] = NounSense("name", names=frozenset({t.name}))
    return heads


class _PhraseParser:
    """Reads one noun phrase left to right; see `parse_object_phrase`."""

    def __init__(self, words: Words, heads: Mapping[Words, NounSense]) -> None:
        self.w = words
        self.heads = heads
        self.multi = sorted((k for k in heads if len(k) > 1), key=len, reverse=True)

    def multi_head_at(self, i: int) -> tuple[int, Head, bool] | None:
        """A multi-word scene label starting at i ("fruit bowl", "orange juice", "cream cheese"): it wins over
        reading its first word as a colour or an adjective, since the scene says such a thing is here."""
        for k in self.multi:
            n = len(k)
            if i + n > len(self.w) or self.w[i : i + n - 1] != k[:-1]:
                continue
            last, (stem, plural) = self.w[i + n - 1], singular(self.w[i + n - 1])
            if last == k[-1] or (plural and stem == k[-1]):
                return n, Head(" ".join(k), self.heads[k]), last != k[-1]
        return None

    def head_at(self, i: int) -> tuple[int, Head, bool] | None:
        """(words consumed, head, plural) for a noun starting at i."""
        multi = self.multi_head_at(i)
        if multi is not None:
            return multi
        word = self.w[i]
        for cand, plural in ((word, False), singular(word)):
            sense = self._sense(cand)
            if sense is not None:
                return 1, Head(cand, sense), plural
        return None

    def _sense(self, word: str) -> NounSense | None:
        lex, seen = NOUNS.get(word), self.heads.get((word,))
        if lex is None or seen is None:
            return lex or seen
        return NounSense(lex.kind, lex.labels | seen.labels, lex.categories, lex.names | seen.names,
                         lex.affordance)

    def qualifier_at(self, i: int) -> tuple[int, str, str] | None:
        """("on the far left side" ->) (next index, "side"|"depth", value) for a prepositional position."""
        if self.w[i] not in _QUALIFIER_PREPS:
            return None
        j = i + 1
        while j < len(self.w) and self.w[j] in ("the", "your", "my"):
            j += 1
        if j + 1 < len(self.w) and self.w[j] in ("far", "very", "extreme") and self.w[j + 1] in SIDE_WORDS:
            j += 1
        if j >= len(self.w):
            return None
        if self.w[j] == "front" and self.w[j + 1 : j + 2] == ("of",):
            return None  # "in front of the bowl": a relation, refused as an unknown word below
        kind = "side" if self.w[j] in SIDE_WORDS else "depth" if self.w[j] in DEPTH_WORDS else None
        if kind is None:
            return None
        value = SIDE_WORDS[self.w[j]] if kind == "side" else DEPTH_WORDS[self.w[j]]
        j += 1
        while j < len(self.w) and self.w[j] in POSITION_TAILS:
            j += 1
        return j, kind, value

    def parse(self, text: str) -> ObjectQuery:
        f: dict = {"text": text}
        colors: list[str] = []
        unknown: list[str] = []
        after_head: list[str] = []
        i, n = 0, len(self.w)
        while i < n:
            w = self.w[i]
            if w in QUANTIFIERS_ALL:
                f["plural"] = True
                f["count"] = 2 if w == "both" else f.get("count")
                if w == "everything":
                    f["head"] = Head(w, NOUNS[w])
                i += 1
                continue
            if w in NUMBERS:
                f["count"] = NUMBERS[w]
                f["plural"] = NUMBERS[w] > 1
                i += 1
                continue
            qual = self.qualifier_at(i)
            if qual is not None:
                i, kind, value = qual
                f[kind] = value
                continue
            between = self.between_at(i)
            if between is not None:
                i, f["between"] = between
                continue
            if w == "of" and "head" in f and i + 1 < n and f["head"].sense.kind == "label":
                # "the middle drawer of the cabinet": a part of a thing; the thing is its landmark.
                f["landmark"] = _PhraseParser(self.w[i + 1:], self.heads).parse(" ".join(self.w[i + 1:]))
                break
            if w == "and" and colors and i + 1 < n and self.w[i + 1] in COLORS and "head" not in f:
                i += 1  # "the yellow and white mug": one thing of two colours
                continue
            rel = next((p for p in _REL_PHRASES if self.w[i : i + len(p)] == p), None)
            if rel is not None and rel in _ADJECTIVE_RELATIONS:
                after = self.w[i + 1] if i + 1 < n else ""
                if after not in DETERMINERS and after not in ROBOT_WORDS:
                    rel = None  # "the nearest apple": an adjective
            if rel is not None and i + len(rel) < n:
                self._relation(f, self.w[i + len(rel) :], far=_REL_WORDS[rel])
                f["landmark_holds"] = rel in _HOLDING_RELATIONS and "landmark" in f
                break
            if w in COLORS and self.multi_head_at(i) is None and not (
                    w in NOUNS and (i == n - 1 or self.w[i + 1] in _NOUN_FOLLOWERS)):
                colors.append(COLOR_SYNONYMS.get(w, w))
                i += 1
                continue
            head = self.head_at(i)
            if head is not None:
                length, new_head, plural = head
                old_head: Head | None = f.get("head")
                if old_head is None or old_head.sense.kind in ("generic", "category"):  # "the fruit bowl": a bowl
                    f["head"] = new_head
                elif old_head.sense.kind == "label" and new_head.word in PACKAGING_NOUNS:
                    pass  # "the cream cheese box", "the milk carton": the scene's thing, in its package
                elif new_head.sense.kind != "generic":  # "the counter mango" is refused, not guessed
                    unknown.append(old_head.word)
                    after_head.append(new_head.word)
                    f["head"] = new_head
                # else "the cleaning thing": the earlier, more specific head stays
                f["plural"] = f.get("plural", False) or plural
                i += length
                continue
            if w in SIZE_WORDS:
                f["size"] = SIZE_WORDS[w]
            elif w in SHAPE_WORDS:
                f["shape"] = SHAPE_WORDS[w]
            elif w in ("far", "very", "extreme") and i + 1 < n and self.w[i + 1] in SIDE_WORDS:
                pass  # "the far left apple"
            elif w in SIDE_WORDS and "head" not in f and self.w[i + 1:i + 2] == ("of",):
                f["beside"] = f"{w} of"  # no scene token is that place (a LIBERO region would have matched)
            elif w in SIDE_WORDS:
                f["side"] = SIDE_WORDS[w]
            elif w in DEPTH_WORDS:
                f["depth"] = DEPTH_WORDS[w]
            elif w in ROBOT_WORDS and f.get("depth"):
                pass  # "the one closest to me" reads "closest ... me" as near the robot
            elif not (w in DETERMINERS or w in HARMLESS_ADJECTIVES or w in POSITION_TAILS):
                unknown.append(w)
                if "head" in f:
                    after_head.append(w)
            i += 1
        return ObjectQuery(colors=tuple(colors), unknown=tuple(unknown), unknown_after_head=tuple(after_head), **f)

    def _relation(self, f: dict, rest: Words, far: bool) -> None:
        content = [w for w in rest if w not in DETERMINERS]
        if content and all(w in ROBOT_WORDS for w in content):
            f["depth"] = "far" if far else "near"  # "closest to you": near the robot base
            return
        if content and all(w in CENTRE_WORDS for w in content):  # "from table center", "at the centre"
            f["centre"] = True
            return
        landmark = _PhraseParser(rest, self.heads).parse(" ".join(rest))
        if "of" in rest and rest.index("of") < len(rest) - 1 and not far and landmark.unknown:
            # "in the top drawer of the wooden cabinet", "in the back compartment of the caddy": a part the
            # scene has no token for (where it has one, the part itself is the landmark); the whole is.
            rest = rest[len(rest) - rest[::-1].index("of"):]
            landmark = _PhraseParser(rest, self.heads).parse(" ".join(rest))
        f["landmark"] = landmark
        f["landmark_far"] = far

    def between_at(self, i: int) -> tuple[int, tuple[ObjectQuery, ObjectQuery]] | None:
        """ "between the plate and the ramekin" at i -> (end, (plate query, ramekin query))."""
        if self.w[i] != "between" or "and" not in self.w[i + 1:]:
            return None
        j = self.w.index("and", i + 1)
        end = len(self.w)
        for k in range(j + 1, len(self.w)):  # the second phrase ends where the clause goes on
            if self.w[k] in ("and", "then") or (self.w[k] in _NOUN_FOLLOWERS and k > j + 2):
                end = k
                break
        a, b = self.w[i + 1: j], self.w[j + 1: end]
        if not a or not b:
            return None
        return end, (_PhraseParser(a, self.heads).parse(" ".join(a)), _PhraseParser(b, self.heads).parse(" ".join(b)))


def parse_object_phrase(phrase: str, heads: Mapping[Words, NounSense] | None = None) -> ObjectQuery:
    """Read a noun phrase. `heads` adds the scene's labels and names to the lexicon (`scene_heads`)."""
    text = normalize(phrase)
    for pattern, replacement in FUNCTION_PHRASES:
        text = pattern.sub(replacement, text)
    words = tuple(w for w in text.replace(",", " ").split() if w not in (";", "."))
    return _PhraseParser(words, heads or {}).parse(phrase)


# ----------------------------------------------------------------------------------------- the scorer


@runtime_checkable
class PhraseScorer(Protocol):
    """How well each token matches what the phrase says the object is (head noun, colour).

    Returns one value in [0, 1] per token; 0 means "cannot be it". Relational words (left, biggest,
    next to X) are not the scorer's business: the `Grounder` applies them to the best-scoring tokens.
    An embedding scorer may use `query.text` and ignore the parsed fields.
    """

    def score(self, query: ObjectQuery, tokens: Sequence[ObjectToken]) -> list[float]: ...


@dataclass(frozen=True)
class LexicalScorer:
    """Exact label 1.0 > synonym 0.95 > category or function 0.9 > "one"/"thing" 0.8; a colour that
    is named must match. A phrase with a word the lexicon does not know matches nothing."""

    exact: float = 1.0
    synonym: float = 0.95
    category: float = 0.9
    generic: float = 0.8

    def score(self, query: ObjectQuery, tokens: Sequence[ObjectToken]) -> list[float]:
        if query.unknown:
            return [0.0] * len(tokens)
        return [self._one(query, t) for t in tokens]

    def _one(self, q: ObjectQuery, t: ObjectToken) -> float:
        s = self._identity(q.head, t)
        return s * color_match(q.colors, t.color_name) if s > 0 and q.colors else s

    def _identity(self, head: Head | None, t: ObjectToken) -> float:
        if head is None:
            return self.generic
        sense, label = head.sense, norm_label(t.label)
        if sense.kind == "generic":
            return self.generic
        if sense.kind == "name":
            return self.exact if t.name in sense.names else 0.0
        if sense.kind == "label":
            if label == head.word:
                return self.exact
            if label in sense.labels:
                return self.synonym
            return self.category if head.word in label.split() else 0.0  # "bowl" ~ label "fruit bowl"
        if sense.kind in ("category", "affordance"):
            hit = label in sense.labels or t.category in sense.categories
            hit = hit or (sense.affordance is not None and AFFORDANCES[sense.affordance](t))
            return self.category if hit else 0.0
        return 0.0  # "region": the counter is never an object token


def color_match(colors: Sequence[str], color_name: str, every: bool = True) -> float:
    """How well a token's colour name fits `colors`: 1 when it is that hue ("yellow", "light yellow"), 0.9
    when the hue is part of a blend ("orange-yellow" for "yellow" or "orange"; "white yellow" for "white"),
    else 0. With `every` (a phrase's colours) the token must have each of them ("the yellow and white mug" is
    not the white one); without, any one will do (the colours a kind of thing may have)."""
    words = [COLOR_SYNONYMS.get(w, w) for w in normalize(color_name).replace(",", " ").replace("-", " ").split()]
    hues = [w for w in words if w in COLORS]
    if not (all if every else any)(c in hues for c in colors):
        return 0.0
    return 1.0 if len(set(hues)) == 1 else 0.9


# --------------------------------------------------------------------------------------- the grounder


@dataclass(frozen=True)
class GroundingConfig:
    """Thresholds of the grounder.

    min_score: below it a token does not match at all. tie_margin: tokens this close to the best score
    tie with it (singular phrases keep only the best tier). position_tol_m / size_rel_tol / shape_rel_tol:
    left/right, near/far, big/small or long/round only decide between objects that differ by more than this.
    ambiguity: what a singular phrase that still fits several objects does: "ask" raises
    `AmbiguityError` (a question with the candidates); "nearest" takes the one nearest the robot base
    and lists the others in `Grounding.alternatives`.
    """

    min_score: float = 0.5
    tie_margin: float = 0.02
    position_tol_m: float = 0.02
    size_rel_tol: float = 0.15
    shape_rel_tol: float = 0.3  # elongations within 30 % of the best are a tie (the question names both)
    holds_margin_m: float = 0.01  # "everything on the plate": a middle this far past its edge still counts
    base_xy_m: tuple[float, float] = (0.0, 0.0)
    ambiguity: str = "ask"
    # Whose left "left" is: the horizontal direction [x, y] of the speaker's left. None: the robot's own (+y).
    # An instruction written looking at the robot from the front (LIBERO's, from its scene camera) has it at -y.
    left_xy: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.min_score <= 1.0:
            raise ConfigError(f"min_score={self.min_score} must be in (0, 1]")
        if self.ambiguity not in ("ask", "nearest"):
            raise ConfigError(f"ambiguity={self.ambiguity!r} must be 'ask' or 'nearest'")
        if min(self.tie_margin, self.position_tol_m, self.size_rel_tol, self.shape_rel_tol) < 0:
            raise ConfigError("tie_margin, position_tol_m, size_rel_tol and shape_rel_tol must be >= 0")


@dataclass(frozen=True)
class Grounding:
    """The objects a phrase means: one for a singular phrase, every match for a plural one."""

    phrase: str
    tokens: tuple[ObjectToken, ...]
    confidence: float  # the lowest match score among `tokens`, in [0, 1]
    plural: bool = False
    alternatives: tuple[str, ...] = ()  # what an ambiguous singular phrase could also have meant

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tokens)


@dataclass
class Grounder:
    """Grounds noun phrases in a scene with a pluggable `PhraseScorer` (lexical by default)."""

    scorer: PhraseScorer = field(default_factory=LexicalScorer)
    config: GroundingConfig = field(default_factory=GroundingConfig)

    def ground(
        self,
        phrase: str,
        scene: Scene,
        *,
        prefer: Callable[[ObjectToken], bool] | None = None,
        exclude: Collection[str] = (),
        tiebreak: Callable[[ObjectToken], bool] | None = None,
    ) -> Grounding:
        """The object(s) `phrase` means in `scene`.

        prefer: an affordance the caller needs (graspable for "pick X"); it breaks ties between equally
            good matches and, for plural phrases, drops the matches that lack it.
        exclude: instance names that cannot be meant (the target of the same step).
        tiebreak: a last test for singular phrases still left with several matches (SayCan's
            feasibility: "the apple" with two apples, one out of reach, is the reachable one).

        Raises:
            ObjectNotFoundError: nothing matches; names the unknown word or the missing object.
            AmbiguityError: a singular phrase fits several objects equally well.
        """
        query = parse_object_phrase(phrase, scene_heads(scene.tokens))
        return self.ground_query(query, scene, prefer=prefer, exclude=exclude, tiebreak=tiebreak)

    def ground_query(
        self,
        q: ObjectQuery,
        scene: Scene,
        *,
        prefer: Callable[[ObjectToken], bool] | None = None,
        exclude: Collection[str] = (),
        tiebreak: Callable[[ObjectToken], bool] | None = None,
    ) -> Grounding:
        if q.beside is not None:
            raise ObjectNotFoundError(q.text, f"'{q.beside}' names a place beside a thing, which this scene has "
                                              "no place for: I can put things in or on things", scene.tokens)
        if q.is_empty:
            raise ObjectNotFoundError(q.text, "it does not name an object", scene.tokens)
        tokens = [t for t in scene.tokens if t.name not in exclude]
        scores = dict(zip((t.name for t in tokens), self.scorer.score(q, tokens), strict=True))
        best = max(scores.values(), default=0.0)
        if best < self.config.min_score:
            raise ObjectNotFoundError(q.text, self._why_not_found(q), scene.tokens)
        floor = self.config.min_score if q.plural else max(self.config.min_score, best - self.config.tie_margin)
        cands = [t for t in tokens if scores[t.name] >= floor]
        if prefer is not None and (q.plural or len(cands) > 1):
            cands = [t for t in cands if prefer(t)] or cands
        cands = self._select(q, cands, scene)
        if q.count is not None and len(cands) != q.count:
            if len(cands) > q.count:
                raise AmbiguityError(q.text, cands)
            raise ObjectNotFoundError(q.text, f"it asks for {q.count} but only {len(cands)} match", scene.tokens)
        alternatives: tuple[str, ...] = ()
        if not q.plural and len(cands) > 1 and tiebreak is not None:
            cands = [t for t in cands if tiebreak(t)] or cands
        if not q.plural and len(cands) > 1:
            if self.config.ambiguity == "ask":
                raise AmbiguityError(q.text, cands)
            chosen = self._nearest(cands)
            if chosen is None:
                raise AmbiguityError(q.text, cands)
            alternatives = tuple(t.name for t in cands if t is not chosen)
            cands = [chosen]
        if not cands:
            raise ObjectNotFoundError(q.text, f"nothing matches '{q.text}'", scene.tokens)
        return Grounding(q.text, tuple(cands), min(scores[t.name] for t in cands), q.plural, alternatives)

    def _nearest(self, cands: list[ObjectToken]) -> ObjectToken | None:
        """The stated rule for `ambiguity="nearest"`: the candidate nearest the robot base, or None when
        the two nearest are within `position_tol_m` of each other (still a question)."""
        base = np.asarray(self.config.base_xy_m)
        ranked = sorted(cands, key=lambda t: float(np.linalg.norm(t.position_m[:2] - base)))
        d = [float(np.linalg.norm(t.position_m[:2] - base)) for t in ranked[:2]]
        return ranked[0] if d[1] - d[0] > self.config.position_tol_m else None

    @property
    def _left(self) -> np.ndarray:
        left = np.array(self.config.left_xy if self.config.left_xy is not None else (0.0, 1.0), dtype=np.float64)
        return left / max(float(np.linalg.norm(left)), 1e-9)

    # Relational words, applied in a fixed order; each keeps the candidates within tolerance of the
    # best, so a later word can break a tie the earlier one left ("the big one on the left").
    def _select(self, q: ObjectQuery, cands: list[ObjectToken], scene: Scene) -> list[ObjectToken]:
        if not cands or not q.has_selectors:
            return cands
        if q.plural and q.landmark is not None and q.landmark_holds and not (q.size or q.shape or q.depth):
            return self._held_by(q, cands, scene)
        if q.plural:
            if q.size or q.shape or q.depth or q.landmark or q.side == "middle":
                raise GroundingError(
                    f"could not ground '{q.text}': 'all'/plural phrases only combine with left or right, "
                    "or with what holds them ('everything on the plate')"
                )
            sign = 1.0 if q.side == "left" else -1.0
            base = np.asarray(self.config.base_xy_m)
            return [t for t in cands if sign * float((t.position_m[:2] - base) @ self._left) > 0]
        tol = self.config.position_tol_m
        if q.side is not None and len(cands) > 1:
            y = np.array([float(t.position_m[:2] @ self._left) for t in cands])
            value = {"left": y, "right": -y, "middle": -np.abs(y - np.median(y))}[q.side]
            cands = _keep_best(cands, value, tol)
        if q.depth is not None and len(cands) > 1:
            x = np.array([t.position_m[0] for t in cands])
            cands = _keep_best(cands, -x if q.depth == "near" else x, tol)
        if q.size is not None and len(cands) > 1:
            vol = np.log(np.array([max(float(np.prod(t.extent_m)), 1e-12) for t in cands]))
            cands = _keep_best(cands, vol if q.size == "big" else -vol, float(np.log1p(self.config.size_rel_tol)))
        if q.shape is not None and len(cands) > 1:
            ratio = np.log(np.array([_elongation(t) for t in cands]))
            shape_tol = float(np.log1p(self.config.shape_rel_tol))
            cands = _keep_best(cands, ratio if q.shape == "long" else -ratio, shape_tol)
        if q.between is not None and len(cands) > 1:
            a, b = (self.ground_query(side, scene).tokens[0] for side in q.between)
            cands = [t for t in cands if t.name not in (a.name, b.name)]
            cands = _closest(cands, 0.5 * (a.position_m[:2] + b.position_m[:2]), tol)
        if q.centre and len(cands) > 1:
            xy = np.array([t.position_m[:2] for t in scene.tokens])
            cands = _closest(cands, 0.5 * (xy.min(axis=0) + xy.max(axis=0)), tol)
        if q.landmark is not None:
            mark = self.ground_query(q.landmark, scene).tokens[0]
            cands = [t for t in cands if t.name != mark.name]
            if len(cands) > 1:
                cands = _closest(cands, mark.position_m[:2], tol, farthest=q.landmark_far)
        return cands

    def _held_by(self, q: ObjectQuery, cands: list[ObjectToken], scene: Scene) -> list[ObjectToken]:
        """ "everything on the plate", "all the fruit in the bowl": the things whose middle lies over the
        landmark's footprint (grown by `holds_margin_m`) and above its base."""
        assert q.landmark is not None
        mark = self.ground_query(q.landmark, scene).tokens[0]
        half = 0.5 * mark.extent_m[:2] + self.config.holds_margin_m
        base_z = mark.position_m[2] - 0.5 * mark.extent_m[2]
        held = [t for t in cands if t.name != mark.name and bool(np.all(np.abs(t.position_m[:2] - mark.position_m[:2])
                                                                         <= half)) and t.position_m[2] > base_z]
        if not held:  # a plain GroundingError: the words may mean a destination ("collect all the fruit in the bowl")
            where = "in" if mark.category == "container" else "on"
            raise GroundingError(f"could not ground '{q.text}': nothing is {where} the {mark.name}")
        return held

    @staticmethod
    def _why_not_found(q: ObjectQuery) -> str:
        if q.unknown:
            words = ", ".join(f"'{w}'" for w in q.unknown)
            return f"I don't know the word{'s' if len(q.unknown) > 1 else ''} {words}"
        if q.head is not None and q.head.sense.kind == "region":
            return f"the {q.head.word} is a surface region, not an object to pick up or put things in"
        noun = q.head.word if q.head is not None else "object"
        return f"there is no {' '.join((*q.colors, noun))} in the scene"


def _closest(cands: list[ObjectToken], xy: np.ndarray, tol: float, farthest: bool = False) -> list[ObjectToken]:
    """The candidates nearest (or farthest from) the point `xy` on the table, within `tol` of the best."""
    d = np.array([np.linalg.norm(t.position_m[:2] - xy) for t in cands])
    return _keep_best(cands, d if farthest else -d, tol)


def _elongation(tok: ObjectToken) -> float:
    """The object's long side over its short side (a banana 4.5, a lemon 1.3). Its box is world-aligned, so the
    footprint is unrotated by its yaw; near 45 degrees that cannot be done, and its height stands in for the short
    side (a banana lies flat, a lemon does not)."""
    ex, ey, ez = (max(float(v), 1e-6) for v in tok.extent_m)
    c, s = abs(float(np.cos(tok.yaw_rad))), abs(float(np.sin(tok.yaw_rad)))
    det = c * c - s * s
    if abs(det) >= 0.3:
        a, b = (c * ex - s * ey) / det, (c * ey - s * ex) / det
        if min(a, b) > 1e-3:
            return max(a, b) / min(a, b)
    return max(ex, ey) / min(ex, ey, ez)


def _keep_best(cands: list[ObjectToken], value: np.ndarray, tol: float) -> list[ObjectToken]:
    best = float(value.max())
    return [t for t, v in zip(cands, value, strict=True) if v >= best - tol]
