"""Events: everything that happens in an episode, with a sim and a wall timestamp.

The executor emits events into an `EventLog`; listeners subscribed to it (the episode writer, the CLI
progress bar, the web console) are called once per event, synchronously, in the emitting thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, overload

import numpy as np

from hvla.core.errors import MessageError

EPISODE_STARTED = "episode_started"
PLAN_CREATED = "plan_created"
SUBGOAL_STARTED = "subgoal_started"
CHUNK_ISSUED = "chunk_issued"
PREDICATE_MET = "predicate_met"
SUBGOAL_SUCCEEDED = "subgoal_succeeded"
SUBGOAL_FAILED = "subgoal_failed"
RETRY = "retry"
REPLAN = "replan"
MONITOR_ALERT = "monitor_alert"
MONITOR_WARNING = "monitor_warning"  # noted, the attempt goes on (the anomaly monitor)
SAFETY_REFUSAL = "safety_refusal"
ESTOP = "estop"  # the e-stop ended the attempt; the arm braked to rest and holds until a reset
SUBGOAL_STOPPED = "subgoal_stopped"  # not failed: stopped by the e-stop or the operator, never retried
APPROVAL_REQUESTED = "approval_requested"  # step-approval mode waits for the operator
DEADLINE_MISSED = "deadline_missed"  # real-time mode: a tick ended late, or its chunk was not ready
EPISODE_FINISHED = "episode_finished"

KINDS: tuple[str, ...] = (
    EPISODE_STARTED,
    PLAN_CREATED,
    SUBGOAL_STARTED,
    CHUNK_ISSUED,
    PREDICATE_MET,
    SUBGOAL_SUCCEEDED,
    SUBGOAL_FAILED,
    RETRY,
    REPLAN,
    MONITOR_ALERT,
    MONITOR_WARNING,
    SAFETY_REFUSAL,
    ESTOP,
    SUBGOAL_STOPPED,
    APPROVAL_REQUESTED,
    DEADLINE_MISSED,
    EPISODE_FINISHED,
)

Scalar = float | int | str | bool | None
Detail = Mapping[str, Scalar] | str


def _scalar(kind: str, key: str, value: Any) -> Scalar:
    """`value` as a plain JSON scalar; numpy scalars are unwrapped, containers and non-finite floats refused."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MessageError(f"event {kind}: detail[{key!r}] is {value}; JSON holds finite numbers only")
        return value
    raise MessageError(
        f"event {kind}: detail[{key!r}] is a {type(value).__name__}; expected float, int, str, bool or None"
    )


@dataclass(frozen=True)
class Event:
    """One thing that happened. `detail` is free text or a flat mapping of scalars (JSON-safe)."""

    t_s: float  # simulation (or robot) clock [s]
    wall_s: float  # time.time() when the event was made [s since the epoch]
    kind: str  # one of KINDS
    subgoal_id: str | None = None
    detail: Detail = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MessageError(f"unknown event kind {self.kind!r}; known: {list(KINDS)}")
        if not (math.isfinite(self.t_s) and math.isfinite(self.wall_s)):
            raise MessageError(f"event {self.kind}: t_s={self.t_s}, wall_s={self.wall_s} must be finite")
        object.__setattr__(self, "t_s", float(self.t_s))
        object.__setattr__(self, "wall_s", float(self.wall_s))
        if not isinstance(self.detail, str):
            clean = {str(k): _scalar(self.kind, str(k), v) for k, v in self.detail.items()}
            object.__setattr__(self, "detail", MappingProxyType(clean))

    @classmethod
    def now(cls, kind: str, t_s: float, subgoal_id: str | None = None, detail: Detail = "") -> Event:
        """An event stamped with the current wall-clock time."""
        return cls(t_s=t_s, wall_s=time.time(), kind=kind, subgoal_id=subgoal_id, detail=detail)

    def to_json(self) -> dict[str, Any]:
        detail = self.detail if isinstance(self.detail, str) else dict(self.detail)
        return {
            "t_s": self.t_s,
            "wall_s": self.wall_s,
            "kind": self.kind,
            "subgoal_id": self.subgoal_id,
            "detail": detail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        try:
            return cls(
                t_s=data["t_s"],
                wall_s=data["wall_s"],
                kind=data["kind"],
                subgoal_id=data.get("subgoal_id"),
                detail=data.get("detail", ""),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise MessageError(f"not an event: {dict(data)!r} ({err!r})") from err


Listener = Callable[[Event], None]


class EventLog(Sequence[Event]):
    """An append-only list of events that notifies its listeners of each new one, in subscription order.

    A listener that raises stops the emit (the error reaches the executor): a log writer that cannot
    write must not fail silently. Listeners should be quick; they run in the emitting thread.
    """

    def __init__(self, listeners: Sequence[Listener] = ()) -> None:
        self._events: list[Event] = []
        self._listeners: list[Listener] = list(listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for every later event; returns a function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def append(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise MessageError(f"EventLog holds Event, got {type(event).__name__}")
        self._events.append(event)
        for listener in tuple(self._listeners):
            listener(event)

    def emit(self, kind: str, t_s: float, subgoal_id: str | None = None, detail: Detail = "") -> Event:
        """Make an event stamped now, append it and return it."""
        event = Event.now(kind, t_s, subgoal_id, detail)
        self.append(event)
        return event

    def of_kind(self, *kinds: str) -> list[Event]:
        return [e for e in self._events if e.kind in kinds]

    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return self._events[index]

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __repr__(self) -> str:
        return f"EventLog({len(self._events)} events, {len(self._listeners)} listeners)"
