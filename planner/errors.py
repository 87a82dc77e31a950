"""Planner errors. All are `GroundingError`s, so the CLI maps every one to exit code 2 (bad input).

They carry structured fields (phrase, candidates, objects) so an operator console can turn an
ambiguity into a question instead of a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence

from hvla.core.errors import GroundingError, HvlaError
from hvla.core.messages import ObjectToken


def describe_token(tok: ObjectToken) -> str:
    """`banana (yellow fruit, left)`: instance name, then what tells it apart from its neighbours."""
    what = " ".join(w for w in (tok.color_name, tok.label if tok.label != tok.name else tok.category) if w)
    y = float(tok.position_m[1])
    side = "left" if y > 0.02 else "right" if y < -0.02 else "centre"
    return f"{tok.name} ({what}, {side})"


def describe_scene(tokens: Sequence[ObjectToken]) -> str:
    return ", ".join(describe_token(t) for t in tokens) if tokens else "none (the scene is empty)"


class ObjectNotFoundError(GroundingError):
    """A phrase matches no object in the scene (an unknown word, or an object that is not there)."""

    def __init__(self, phrase: str, reason: str, tokens: Sequence[ObjectToken]) -> None:
        self.phrase = phrase
        self.reason = reason
        self.objects = tuple(t.name for t in tokens)
        super().__init__(f"could not ground '{phrase}': {reason}; objects in the scene: {describe_scene(tokens)}")


class AmbiguityError(GroundingError):
    """A singular phrase matches several objects equally well. `candidates` are their instance names;
    `question` is what to ask the operator ("Which one do you mean by 'the fruit': the banana (...) or ...?")."""

    def __init__(self, phrase: str, candidates: Sequence[ObjectToken]) -> None:
        self.phrase = phrase
        self.candidates = tuple(t.name for t in candidates)
        options = [describe_token(t) for t in candidates]
        listed = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else "".join(options)
        self.question = f"Which one do you mean by '{phrase}': {listed}?"
        super().__init__(
            f"'{phrase}' is ambiguous: it could be {describe_scene(candidates)}; "
            "say which one (by name, colour, size or position, e.g. 'the one on the left')"
        )


class InfeasibleError(GroundingError):
    """A grounded step cannot succeed from the current state (wrong affordance, out of reach, hand full)."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"cannot {step}: {reason}")


class BackendError(HvlaError):
    """A planner backend failed to answer (endpoint unreachable, timeout, HTTP error, a model that cannot
    be loaded). Not bad input: the same instruction may plan once the backend works."""
