"""Events: validation, JSON round trip, and the listener-notifying log."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from hvla.core.errors import MessageError
from hvla.orchestration import events as ev
from hvla.orchestration.events import Event, EventLog


def test_event_round_trips_through_json_text():
    event = Event(1.5, 1_700_000_000.25, ev.SUBGOAL_FAILED, "s1", {"reason": "timeout", "attempt": 2, "ok": False})
    back = Event.from_json(json.loads(json.dumps(event.to_json())))
    assert back == event
    assert back.detail["reason"] == "timeout"
    text = Event(0.0, 1.0, ev.MONITOR_ALERT, detail="arm stalled")
    assert Event.from_json(text.to_json()) == text


def test_every_kind_constant_is_listed_and_unknown_kinds_are_refused():
    constants = [v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str)]
    assert sorted(constants) == sorted(ev.KINDS)
    assert len(set(ev.KINDS)) == len(ev.KINDS)  # no kind listed twice
    with pytest.raises(MessageError, match="unknown event kind 'teleport'"):
        Event(0.0, 0.0, "teleport")


def test_detail_holds_json_scalars_only():
    event = Event.now(ev.CHUNK_ISSUED, 2.0, "s1", {"k": np.int64(8), "confidence": np.float32(0.5)})
    assert type(event.detail["k"]) is int
    assert json.loads(json.dumps(event.to_json()))["detail"] == {"k": 8, "confidence": 0.5}
    with pytest.raises(MessageError, match=r"detail\['targets'\] is a list"):
        Event(0.0, 0.0, ev.CHUNK_ISSUED, detail={"targets": [1, 2]})
    with pytest.raises(MessageError, match="finite"):
        Event(0.0, 0.0, ev.CHUNK_ISSUED, detail={"x": float("nan")})
    with pytest.raises(TypeError):
        event.detail["k"] = 9  # the frozen event's detail is read-only too


def test_event_log_notifies_listeners_in_order_until_unsubscribed():
    seen: list[tuple[str, str]] = []
    log = EventLog([lambda e: seen.append(("a", e.kind))])
    unsubscribe = log.subscribe(lambda e: seen.append(("b", e.kind)))
    first = log.emit(ev.EPISODE_STARTED, 0.0)
    unsubscribe()
    log.emit(ev.PLAN_CREATED, 0.1, detail={"n_subgoals": 2})
    assert seen == [("a", ev.EPISODE_STARTED), ("b", ev.EPISODE_STARTED), ("a", ev.PLAN_CREATED)]
    assert len(log) == 2 and log[0] is first and [e.kind for e in log] == [ev.EPISODE_STARTED, ev.PLAN_CREATED]
    assert log.of_kind(ev.PLAN_CREATED) == [log[1]]
    assert abs(first.wall_s - time.time()) < 60


def test_a_failing_listener_reaches_the_emitter():
    log = EventLog()

    def broken(event: Event) -> None:
        raise OSError("disk full")

    log.subscribe(broken)
    with pytest.raises(OSError, match="disk full"):
        log.emit(ev.EPISODE_STARTED, 0.0)
