"""Instruction text -> ordered stages of clauses, before anything is grounded in a scene.

    "first put the apple and the lemon on the plate, then wipe the counter"
    -> stage 0: [PUT (the apple -> the plate), (the lemon -> the plate)]
       stage 1: [WIPE counter]

Stages run in order (every step of a stage precedes every step of the next: "then", "after that",
";", "."); clauses and items inside a stage are independent ("and", ","). The parser only reads words:
it never decides which object is meant (grounding does) nor which skill runs (the planner does). Any
word it cannot place makes it refuse the instruction, so nothing in the text can smuggle in a skill.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hvla.core.errors import GroundingError
from hvla.planner.language.lexicon import COLORS, DEPTH_WORDS, POSITION_TAILS, SIDE_WORDS, singular
from hvla.planner.language.vocab import (
    DIRECTIONAL_PREPOSITIONS,
    PART_SKILL_OF,
    PARTICLES,
    REGION_FILLERS,
    REGION_NOUNS,
    TARGET_PREPOSITIONS,
    TOOL_PREPOSITIONS,
    VERB_PHRASES,
    VERBS,
    Intent,
)

Words = tuple[str, ...]


@dataclass(frozen=True)
class Item:
    """One object phrase and where it goes (None: nowhere, for a plain pick)."""

    object: str
    target: str | None = None


@dataclass(frozen=True)
class Clause:
    """One verb and its arguments, as written. `region`/`tool` are set for WIPE clauses only."""

    text: str
    intent: Intent
    verb: str
    items: tuple[Item, ...] = ()
    region: str | None = None
    tool: str | None = None


Stage = tuple[Clause, ...]

_WORD = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?|[,;.]")


def _phrases(*texts: str) -> tuple[Words, ...]:
    return tuple(sorted((tuple(t.split()) for t in texts), key=len, reverse=True))


# Markers that end one stage and start the next; an "and" or "," in front of them belongs to them.
_SEQUENCE_MARKERS = _phrases(
    "then", "after that", "after this", "after which", "afterwards", "afterward", "next", "finally",
    "lastly", "subsequently", "once that's done", "once that is done", "once done", "once finished",
    "when that's done", "when that is done", "when done", "when finished", "once you're done",
    "when you're done", "once you are done", "when you are done", "second", "secondly", "third", "thirdly",
)
_ORDINALS = (("second",), ("secondly",), ("third",), ("thirdly",))
# Markers after which comes what must happen before what was said so far: the later action said first.
_PRECEDE_MARKERS = _phrases(
    "but first", "but before that", "but before this", "before that", "before this", "before doing that",
    "before doing this", "before you do that", "before you do this", "prior to that", "prior to this",
    "first though", "though first", "but beforehand", "beforehand", "having first", "but having first",
)
# A piece that ends with one of these runs after every other piece ("wipe the counter last; first ...").
_LAST_WORDS = _phrases("last", "last of all", "at the end", "in the end", "at the very end")
# Openers and politeness that carry no meaning for the plan.
_LEADING_FILLERS = _phrases(
    "please", "kindly", "now", "ok", "okay", "hey", "robot", "so", "also", "just", "and", "but", "first",
    "firstly", "first of all", "to start", "to begin", "to begin with", "can you", "could you", "would you",
    "will you", "i want you to", "i'd like you to", "i would like you to", "i need you to", "you should",
    "you need to", "you must", "go ahead and", "try to", "let's", "you", "you've", "you have", "you're done",
    "then", "next", "finally", ",",
)
_TRAILING_FILLERS = _phrases(
    "please", "now", "first", "thanks", "thank you", "for me", "right now", "too", "as well", "again",
    "for me please", ",",
)
_CONJUNCTIONS = _phrases("and", ",", "as well as", "plus", "and also", "along with")
_DETERMINERS = frozenset({"the", "a", "an", "your", "my", "its", "their", "our"})
# Words that turn a following "to" into a relation ("next to the bowl") rather than a destination.
_RELATION_LEADS = frozenset({"next", "close", "closest", "nearest", "near", "far", "farthest", "furthest"})
_INTENSIFIERS = frozenset({"far", "very", "extreme", "top", "bottom"})
_ALL_PREP_FIRST = frozenset(p[0] for p in TARGET_PREPOSITIONS) | {"of", "from", "near", "by", "beside", "at"}

_ALLOWED_CHARS = re.compile(r"[^a-z0-9_,;.'\s]")
_STRAY_QUOTES = re.compile(r"(?<![a-z])'|'(?![a-z])")
_TRAILING_PUNCT = " ,;.!?"


_ARROWS = re.compile(r"\s*(?:-+>|=+>|\u2192|\u27f6|\u21d2)\s*")  # "apple -> bowl": the apple to the bowl
# "bowl <- apple": the apple to the bowl. The destination is the few words right before the arrow.
_BACK_ARROWS = re.compile(r"(?P<dest>(?:[a-z0-9_']+ ){0,3}[a-z0-9_']+)\s*(?:<-+|<=+|\u2190|\u27f5|\u21d0)\s*"
                          r"(?P<obj>[^,;.:]+)")
_PLUS = re.compile(r"\s*\+\s*")  # "banana+apple": the banana and the apple
# A list item's bullet ("- wipe the counter", "* ...", "• ...") ends the step before it.
_BULLETS = re.compile(r"(?:^|\s)[-*\u2022\u2013\u2014]+\s+")


def normalize(text: str) -> str:
    """Lower case, curly quotes straightened, an arrow read as "to" (either way round), "+" as "and", a list's
    bullets as step breaks, anything but words and , ; . turned into spaces."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\n", " ; ")
    s = _ARROWS.sub(" to ", s)
    s = _BACK_ARROWS.sub(lambda m: f"{m['obj'].strip()} to {m['dest']}", s)
    s = _PLUS.sub(" and ", s)
    s = _BULLETS.sub(" ; ", s)
    s = _STRAY_QUOTES.sub(" ", _ALLOWED_CHARS.sub(" ", s))
    return " ".join(s.split()).strip(_TRAILING_PUNCT)


def tokenize(text: str) -> Words:
    return tuple(_WORD.findall(normalize(text)))


def word_pieces(text: str) -> Words:
    """Like `tokenize` for a fragment of an instruction: punctuation at its ends is kept."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return tuple(_WORD.findall(_STRAY_QUOTES.sub(" ", _ALLOWED_CHARS.sub(" ", s))))


def _join(words: Sequence[str]) -> str:
    return " ".join(words).replace(" ,", ",")


def _match(words: Sequence[str], i: int, phrases: Sequence[Words]) -> Words | None:
    """The longest phrase in `phrases` (sorted longest first) that starts at words[i]."""
    for p in phrases:
        if tuple(words[i : i + len(p)]) == p:
            return p
    return None


def _strip_fillers(words: Words, allow_empty: bool = False) -> Words:
    """Drop politeness and openers at both ends. Without `allow_empty` the last word always stays, so
    "please" alone is refused as "no action" rather than silently planned as nothing."""
    keep = 0 if allow_empty else 1
    changed = True
    while changed and words:
        changed = False
        p = _match(words, 0, _LEADING_FILLERS)
        if p is not None and len(p) + keep <= len(words):
            words, changed = words[len(p) :], True
        for q in _TRAILING_FILLERS:
            if len(q) + keep <= len(words) and words[-len(q) :] == q:
                words, changed = words[: -len(q)], True
                break
    return words


def _verb(words: Words) -> Words | None:
    """The verb phrase `words` open with, if any ("close to the bowl" is a relation, not the verb close)."""
    verb = _match(words, 0, VERB_PHRASES)
    if verb == ("close",) and words[1:2] == ("to",):
        return None
    return verb


def _starts_with_verb(words: Words) -> bool:
    """Whether a clause starts here: an action verb, or "use X to wipe ..." ."""
    words = _rewrite_turn(_strip_fillers(words))
    return _verb(words) is not None or _USE_TO_WIPE.match(" ".join(words)) is not None


def _rewrite_turn(words: Words) -> Words:
    """ "turn the stove on" -> "turn on the stove" (and switch, off)."""
    if len(words) > 2 and words[0] in ("turn", "switch") and words[-1] in ("on", "off"):
        return (words[0], words[-1], *words[1:-1])
    return words


# ---------------------------------------------------------------------------------------------- stages


def _split_stages(words: Words) -> list[tuple[Words, bool]]:
    """Split at ; . and sequence markers ("then", "after that", ...).

    Each piece comes with whether a marker closed it with nothing but fillers after it ("put the apple
    in the bowl and wipe the counter afterwards"): its last clause then runs after the others.
    """
    pieces: list[tuple[Words, bool]] = []
    cur: list[str] = []
    precede: set[int] = set()  # indices of pieces that go before the piece said ahead of them

    def close(trailing: bool = False, joiners: tuple[str, ...] = ("and", ",")) -> None:
        """End the current piece at a marker, without the joining words in front of it."""
        while cur and cur[-1] in joiners:
            cur.pop()
        if cur:
            pieces.append((tuple(cur), trailing))
        cur.clear()

    i = 0
    while i < len(words):
        w = words[i]
        earlier = _match(words, i, _PRECEDE_MARKERS)
        if earlier is not None and not (cur or pieces) and earlier[-1] in ("that", "this", "beforehand"):
            raise GroundingError(f"'{' '.join(earlier)}' refers to an action, but none was said before it: "
                                 "say both, e.g. 'wipe the counter, but first put the apple in the bowl'")
        if earlier is None and w in ("first", "firstly") and ((not cur and pieces) or cur[-1:] == [","]):
            earlier = (w,)  # "... ; first put the apple away", "..., first ...": the later one said first
        if earlier is not None and (cur or pieces):
            close(joiners=("and", ",", "but"))
            precede.add(len(pieces))
            i += len(earlier)
            continue
        marker = _match(words, i, _SEQUENCE_MARKERS)
        if marker == ("next",) and i + 1 < len(words) and words[i + 1] == "to":
            marker = None  # "next to the bowl" is a relation, not a step
        if marker in _ORDINALS and cur and cur[-1] not in (",", "and"):
            marker = None  # "the second apple" is not a step marker
        if w in (";", ".") or marker is not None:
            i += 1 if marker is None else len(marker)
            close(trailing=marker is not None and _only_fillers_until_stop(words, i))
            continue
        cur.append(w)
        i += 1
    close(joiners=())
    for k in sorted(precede):  # "wipe the counter, but first put the apple away": the apple goes first
        if 0 < k < len(pieces):
            pieces.insert(k - 1, pieces.pop(k))
    if len(pieces) > 1:
        last = [k for k, (piece, _) in enumerate(pieces) if _ends_with(piece, _LAST_WORDS) is not None]
        kept = [p for k, p in enumerate(pieces) if k not in last]
        moved = [(piece[: -len(_ends_with(piece, _LAST_WORDS) or ())], trailing)
                 for k, (piece, trailing) in enumerate(pieces) if k in last]
        pieces = kept + moved
    out: list[tuple[Words, bool]] = []
    for piece, trailing in pieces:
        parts = _reorder(piece)
        out.extend((p, trailing and k == len(parts) - 1) for k, p in enumerate(parts))
    return out


def _ends_with(words: Words, phrases: Sequence[Words]) -> Words | None:
    """The longest phrase of `phrases` (sorted longest first) that `words` end with, leaving words before it."""
    return next((p for p in phrases if len(words) > len(p) and words[-len(p):] == p), None)


# -------------------------------------------------------------------------------------------- corrections

# What an operator says to take back part of what was just said ("..., no wait, on the plate").
_CORRECTION_MARKERS = _phrases(
    "no wait", "wait no", "wait", "no", "actually", "sorry", "i meant", "i mean", "or rather", "rather",
    "scratch that", "correction", "make that", "oops", "my mistake", "my bad", "i mean to say",
)
_BREAKS = (",", ";", ".")


def _drop_contrasts(words: Words) -> Words:
    """ "put the apple not in the bowl but on the plate" -> "put the apple on the plate" (and "not the apple but
    the lemon"): what is denied is dropped, as is an exclusion after the request ("..., and not the lemon")."""
    out = list(words)
    for k in range(len(out) - 2, -1, -1):
        if k >= len(out) - 1 or out[k] != "not":
            continue
        but = next((j for j in range(k + 2, min(len(out), k + 8)) if out[j] == "but"), None)
        if but is not None and not any(w in _BREAKS[1:] for w in out[k:but]):
            del out[k:but + 1]
        elif k > 0 and out[k - 1] in ("and", ",") and k + 1 < len(out) and out[k + 1] in _DETERMINERS:
            stop = next((j for j in range(k + 1, len(out)) if out[j] in _BREAKS), len(out))
            del out[k - 1:stop]  # "..., and not the lemon": the exclusion changes nothing that was asked
    return tuple(out)


def corrected_words(text: str) -> Words:
    """The instruction's words with its corrections folded in, its denials and remarks dropped (what both the
    rules and the planner head read)."""
    return _fold_remarks(apply_corrections(_drop_contrasts(tokenize(text))))


_COPULAS = frozenset({"is", "are", "looks", "look", "seems", "seem", "'s", "got", "gets", "feels"})


def _fold_remarks(words: Words) -> Words:
    """ "the counter is dirty, please clean it" -> "please clean the counter": a remark about a thing (it is,
    looks, seems so, and goes nowhere) asks nothing itself; the "it" of the request after it names that thing."""
    out = list(words)
    start = 0
    while start < len(out):
        end = next((e for e in range(start, len(out)) if out[e] in _BREAKS), len(out))
        piece = tuple(out[start:end])
        cop = next((k for k, w in enumerate(piece) if w in _COPULAS), None)
        is_remark = (cop is not None and 0 < cop < len(piece) - 1 and _verb(_strip_fillers(piece)) is None
                     and piece[0] in _DETERMINERS and _state(piece) is None
                     and not any(_match(piece, k, TARGET_PREPOSITIONS) for k in range(cop, len(piece))))
        stop = next((e for e in range(end + 1, len(out)) if out[e] in _BREAKS), len(out))
        after = next((e for e in range(end + 1, stop) if out[e] in ("it", "them")), None)
        if is_remark and end < len(out) and after is not None:
            thing = piece[:cop]
            out[after:after + 1] = thing
            del out[start:end + 1]
            continue
        start = end + 1
    return tuple(out)


def apply_corrections(words: Words) -> Words:
    """Fold each correction into the clause it corrects.

    After a break (, ; .) a correction marker ("no wait", "actually", "sorry, I meant", "make that") starts a
    fragment that replaces part of the clause before it: a whole clause replaces the clause ("... . actually,
    put it on the plate": "it" keeps naming the object), a destination replaces its destination ("..., no wait,
    on the plate"), a thing replaces its object ("..., sorry, I meant the lemon")."""
    out = list(words)
    k = 1
    while k < len(out):
        if out[k - 1] not in _BREAKS or _match(out, k, _CORRECTION_MARKERS) is None:
            k += 1
            continue
        j = k
        while j < len(out) and (out[j] == "," or _match(out, j, _CORRECTION_MARKERS) is not None):
            j += len(_match(out, j, _CORRECTION_MARKERS) or (out[j],))
        end = next((e for e in range(j, len(out)) if out[e] in (";", ".")), len(out))
        start = _clause_start(tuple(out[:k - 1]))
        fixed = _corrected(tuple(out[start:k - 1]), tuple(out[j:end]))
        if fixed is None:  # nothing to fold it into: leave the words as they are, for the parser to judge
            k += 1
            continue
        out[start:end] = fixed
        k = start + len(fixed) + 1
    return tuple(out)


def _clause_start(words: Words) -> int:
    """Where the last clause of `words` begins: after the last ; . or "then", or a "," or "and" a verb follows."""
    for e in range(len(words) - 1, -1, -1):
        if words[e] in (";", ".", "then") or (words[e] in (",", "and") and _starts_with_verb(words[e + 1:])):
            return e + 1
    return 0


def _corrected(before: Words, fragment: Words) -> Words | None:
    if fragment and (fragment[0] in ("first", "firstly", "also", "then", "and")
                     or _match(fragment, 0, _PRECEDE_MARKERS)):
        return (*before, ",", *fragment)  # "wipe it, wait, first ...": something added, nothing taken back
    fragment = _strip_fillers(fragment, allow_empty=True)
    clause = _strip_fillers(before, allow_empty=True)
    if not fragment or not clause:
        return None
    verb = _verb(clause) or ()  # none: a note such as "the mango in the cup"
    head = len(verb) + (1 if clause[len(verb):len(verb) + 1] and clause[len(verb)] in PARTICLES else 0)
    if not verb and not any(_match(clause, i, TARGET_PREPOSITIONS) for i in range(len(clause))):
        return None
    prep_at = next((i for i in range(head, len(clause)) if _match(clause, i, TARGET_PREPOSITIONS)), len(clause))
    thing = clause[head:prep_at]
    if _starts_with_verb(fragment):  # a new clause: "it" in it still means the thing of the old one
        return tuple(w2 for w in fragment for w2 in (thing if w == "it" and thing else (w,)))
    if _match(fragment, 0, TARGET_PREPOSITIONS) is not None:
        return (*clause[:prep_at], *fragment)
    return (*clause[:head], *fragment, *clause[prep_at:])


def _only_fillers_until_stop(words: Words, i: int) -> bool:
    """Whether words[i:] up to the next ; or . (or the end) hold nothing but politeness."""
    end = next((k for k in range(i, len(words)) if words[k] in (";", ".")), len(words))
    return not _strip_fillers(words[i:end], allow_empty=True)


# "A after B" and its kin: B happens first. An "only" or "but" in front changes nothing about the order.
_AFTER_WORDS = _phrases("after", "once", "when", "as soon as", "only after", "only once", "only when",
                        "but only after", "but only once", "but only when", "not before", "but not before")
_BEFORE_WORDS = _phrases("before", "but before", "prior to")


def _reorder(piece: Words) -> list[Words]:
    """ "before A, B" -> [B, A]; "after/once/when A, B" -> [A, B]; "A before B" -> [A, B]; "A after B",
    "A once / as soon as / only after B" -> [B, A]. B may be an action ("after wiping the counter") or the state
    it leaves ("once the banana is in the bowl")."""
    if piece and piece[0] in ("before", "after", "once", "when") and "," in piece:
        comma = piece.index(",")
        a, b = piece[1:comma], piece[comma + 1 :]
        if a and b:
            a = _state(a) or a  # "once the banana is in the bowl, ...": the state to reach first
            return [b, a] if piece[0] == "before" else [a, b]
    for k in range(1, len(piece) - 1):
        later, earlier = _match(piece, k, _AFTER_WORDS), _match(piece, k, _BEFORE_WORDS)
        word = later or earlier
        if word is None:
            continue
        a, b = piece[:k], piece[k + len(word) :]
        while a and a[-1] in (",", "but", "and"):
            a = a[:-1]
        state = _state(b) if a and b else None
        if a and b and (state is not None or _starts_with_verb(b)):
            b = state or b
            return [b, a] if later else [a, b]
    return [piece]


_GOAL_VERBS = frozenset({"goes", "go", "belongs", "belong"})  # "the banana goes in the bowl": asked for
_STATE_VERBS = _GOAL_VERBS | {"is", "are", "sits", "sit", "ends", "end"}  # "... once the banana is in the bowl"


def _state(words: Words, reached: bool = True) -> Words | None:
    """ "the banana is in the bowl" (a state to reach: `reached`, after once / when / as soon as) or "the banana
    goes in the bowl" (asked for) -> "put the banana in the bowl"; None if it is not one. Said on its own, "the
    banana is in the bowl" reports a fact and is not read as a request."""
    words = _strip_fillers(words, allow_empty=True)
    verbs = _STATE_VERBS if reached else _GOAL_VERBS
    for k, w in enumerate(words):
        if w in verbs and 0 < k < len(words) - 2:
            rest = words[k + 1 :]
            if rest[0] in ("up",):
                rest = rest[1:]
            prep = _match(rest, 0, TARGET_PREPOSITIONS)
            if prep is not None and _verb(words[:k]) is None and len(rest) > len(prep):
                return ("put", *words[:k], *rest)
            return None
    return None


# --------------------------------------------------------------------------------------------- clauses


def _split_clauses(stage: Words) -> list[Words]:
    """Split a stage at "and"/"," only where a new verb follows; otherwise the "and" joins objects."""
    clauses: list[list[str]] = [[]]
    i = 0
    while i < len(stage):
        conj = _match(stage, i, _CONJUNCTIONS)
        if conj is not None and clauses[-1]:
            j = i + len(conj)
            while j < len(stage) and _match(stage, j, _CONJUNCTIONS) is not None:
                j += len(_match(stage, j, _CONJUNCTIONS) or ())
            if _starts_with_verb(stage[j:]):
                clauses.append([])
                i = j
                continue
        clauses[-1].extend(stage[i : i + len(conj)] if conj else stage[i : i + 1])
        i += len(conj) if conj else 1
    return [tuple(c) for c in clauses if c]


_NO_ACTION = (
    "it does not start with an action I know "
    "(pick up X, put/place/move X in/on Y, clear all the X into Y, wipe/clean the counter)"
)
_USE_TO_WIPE = re.compile(r"^use (?P<tool>.+?) to (?P<verb>wipe|clean|scrub|mop|wash)\b(?P<rest>.*)$")


def _rewrite_use(words: Words) -> Words:
    """ "use the sponge to wipe the counter" -> "wipe the counter with the sponge"."""
    m = _USE_TO_WIPE.match(" ".join(words))
    if m is None:
        return words
    return tuple(f"{m['verb']}{m['rest']} with {m['tool']}".split())


def _parse_clause(words: Words) -> Clause:
    words = _rewrite_turn(_rewrite_use(_strip_fillers(words)))
    if _verb(words) is None:
        words = _state(words, reached=False) or words
    text = _join(words)
    verb = _verb(words)
    if verb is None:
        raise GroundingError(f"could not understand '{text}': {_NO_ACTION}")
    intent = VERBS[verb]
    rest = words[len(verb) :]
    if rest and rest[0] in PARTICLES:
        rest = rest[1:]
    if intent is Intent.WIPE:
        return _wipe_clause(text, " ".join(verb), rest)
    items = _items(text, intent, rest)
    if intent in PART_SKILL_OF and any(it.target is not None for it in items):
        raise GroundingError(f"could not understand '{text}': {' '.join(verb)} takes a drawer, door or knob, "
                             "not a destination")
    return Clause(text, intent, " ".join(verb), items)


def _wipe_clause(text: str, verb: str, rest: Words) -> Clause:
    cut = next((k for k, w in enumerate(rest) if w in TOOL_PREPOSITIONS), len(rest))
    region_words, tool_words = rest[:cut], rest[cut + 1 :]
    if cut < len(rest) and not tool_words:
        raise GroundingError(f"could not understand '{text}': wipe with what?")
    extra = [w for w in region_words if w not in REGION_NOUNS and w not in REGION_FILLERS and w not in PARTICLES]
    if extra:
        raise GroundingError(
            f"could not understand '{text}': I can only wipe the counter (the table), "
            f"not '{_join(region_words)}'"
        )
    tool = _join(_drop_particle(tool_words)) if tool_words else None
    return Clause(text, Intent.WIPE, verb, region="counter", tool=tool)


def _items(text: str, intent: Intent, rest: Words) -> tuple[Item, ...]:
    """ "the apple and the lemon on the plate" -> (apple -> plate), (lemon -> plate)."""
    preps = TARGET_PREPOSITIONS if intent in (Intent.PUT, Intent.PUSH) else DIRECTIONAL_PREPOSITIONS
    chunks: list[list[str]] = [[]]
    i = 0
    while i < len(rest):
        conj = _match(rest, i, _CONJUNCTIONS)
        if conj is not None and not _opens_between(chunks[-1], conj) and not _joins_colours(
                chunks[-1], conj, rest[i + len(conj):]):
            chunks.append([])
            i += len(conj)
            continue
        chunks[-1].append(rest[i])
        i += 1
    if len(chunks) > 1 and chunks[0][:1] == ["both"]:
        chunks[0] = chunks[0][1:]  # "both the apple and the lemon": two items, not two apples
    split = [_split_target(tuple(c), preps) for c in chunks if c]
    if not split:
        raise GroundingError(f"could not understand '{text}': {intent.value} what?")
    # A chunk without a destination shares the next one's: "the apple and the lemon on the plate".
    items: list[Item] = []
    target: Words | None = None
    for obj, tgt in reversed(split):
        target = tgt if tgt is not None else target
        if not obj:
            raise GroundingError(f"could not understand '{text}': which object?")
        items.append(Item(_join(obj), _join(target) if target else None))
    items.reverse()
    if intent in (Intent.PUT, Intent.PUSH):
        for it in items:
            if it.target is None:
                raise GroundingError(
                    f"could not understand '{text}': where should '{it.object}' go? "
                    "Say where, e.g. 'in the bowl' or 'on the plate'"
                )
    return tuple(items)


def _joins_colours(chunk: Sequence[str], conj: Words, after: Words) -> bool:
    """ "the yellow and white mug": this "and" joins two colours of one thing (a determiner and colours
    before it, colours and a singular noun after it), not two objects ("the red and the green apple",
    "red and green apples" are two)."""
    words = [w for w in chunk if w not in _DETERMINERS]
    if conj != ("and",) or not words or not all(w in COLORS for w in words):
        return False
    k = 0
    while k < len(after) and after[k] in COLORS:
        k += 1
    return 0 < k < len(after) and not singular(after[k])[1]


def _opens_between(chunk: Sequence[str], conj: Words) -> bool:
    """ "the bowl between the plate and the ramekin": this "and" joins the two landmarks, not two objects."""
    if conj != ("and",) or "between" not in chunk:
        return False
    return "and" not in chunk[len(chunk) - 1 - list(reversed(chunk)).index("between"):]


def _is_position_qualifier(chunk: Words, j: int) -> bool:
    """Whether chunk[j:] opens with "(the) (far) left (side)" followed by nothing or a preposition."""
    while j < len(chunk) and chunk[j] in _DETERMINERS:
        j += 1
    if j < len(chunk) and chunk[j] in _INTENSIFIERS and j + 1 < len(chunk) and chunk[j + 1] in SIDE_WORDS:
        j += 1
    if j >= len(chunk) or not (chunk[j] in SIDE_WORDS or chunk[j] in DEPTH_WORDS):
        return False
    j += 1
    while j < len(chunk) and chunk[j] in POSITION_TAILS:
        j += 1
    if j < len(chunk) and chunk[j] == "of":
        return False  # "to the right of the plate": a place beside a thing, a destination
    return j == len(chunk) or chunk[j] in _ALL_PREP_FIRST


_BARE_DESTINATIONS = _phrases("inside", "in there", "in here", "into it", "inside it", "in it")


def _split_target(chunk: Words, preps: Sequence[Words]) -> tuple[Words, Words | None]:
    """Split "the apple on the left in the bowl" at the first preposition that opens a destination. A bare
    "inside" ("open the drawer and put the bowl inside") means the thing just named: "it"."""
    for bare in _BARE_DESTINATIONS:
        if len(chunk) > len(bare) and chunk[-len(bare):] == bare and ("in",) in preps:
            return _drop_particle(chunk[:-len(bare)]), ("it",)
    splits = []
    for i in range(1, len(chunk)):
        p = _match(chunk, i, preps)
        if p is None or chunk[i - 1] in _RELATION_LEADS or _is_position_qualifier(chunk, i + len(p)):
            continue
        target = _drop_particle(chunk[i + len(p) :])
        if target:
            splits.append((_drop_particle(chunk[:i]), target))
    if not splits:
        return _drop_particle(chunk), None
    # "everything on the plate in the bowl": a quantified thing takes the first place as where it is now.
    if len(splits) > 1 and _quantified(splits[0][0]):
        return splits[-1]
    return splits[0]


def _quantified(words: Words) -> bool:
    """ "everything", "all the fruit", "anything", "each apple": a phrase naming every thing of a kind."""
    return bool(words) and words[0] in ("everything", "all", "every", "each", "anything", "whatever")


def _drop_particle(words: Words) -> Words:
    """ "the apple back" -> "the apple"; "the one at the back" keeps its "back"."""
    if len(words) > 1 and words[-1] in PARTICLES and words[-2] not in _DETERMINERS:
        return words[:-1]
    return words


# ------------------------------------------------------------------------------------------ entry point


def parse_instruction(instruction: str, max_chars: int = 500) -> tuple[Stage, ...]:
    """Stages of clauses, in the order they must run.

    Raises:
        GroundingError: the instruction is empty, too long, or has a part that names no known action.
    """
    if not instruction or not instruction.strip():
        raise GroundingError("empty instruction: there is nothing to plan (try 'put the banana in the bowl')")
    if len(instruction) > max_chars:
        raise GroundingError(f"instruction is {len(instruction)} characters long; the limit is {max_chars}")
    words = corrected_words(instruction)
    if not [w for w in words if w not in ",;."]:
        raise GroundingError(f"could not understand '{instruction.strip()}': it has no words I can read")
    stages: list[Stage] = []
    for piece, trailing in _split_stages(words):
        # Openers go first, so "go ahead and put ..." or "hey robot, put ..." are not clauses of their own.
        piece = _strip_fillers(piece)
        clauses = tuple(_parse_clause(c) for c in _split_clauses(piece) if _strip_fillers(c, allow_empty=True))
        if trailing and len(clauses) > 1:
            stages.extend((clauses[:-1], clauses[-1:]))
        elif clauses:
            stages.append(clauses)
    if not stages:
        raise GroundingError(f"could not understand '{instruction.strip()}': {_NO_ACTION}")
    return tuple(stages)
