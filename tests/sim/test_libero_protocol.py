"""The LIBERO wire format: JSON plus .npy, nested arrays restored exactly, nothing that needs pickle."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.sim.libero import protocol


def test_nested_arrays_and_json_values_survive_a_round_trip():
    body = {"op": "step", "id": 3, "args": {"q": np.arange(7.0), "flags": [True, None, "x"], "n": np.int64(4),
                                             "cams": {"agentview": {"rgb": np.zeros((4, 5, 3), np.uint8)}}}}
    out = protocol.decode(protocol.encode(body))
    np.testing.assert_array_equal(out["args"]["q"], np.arange(7.0))
    assert out["args"]["cams"]["agentview"]["rgb"].dtype == np.uint8
    assert out["args"]["cams"]["agentview"]["rgb"].shape == (4, 5, 3)
    assert out["args"]["flags"] == [True, None, "x"] and out["args"]["n"] == 4 and out["id"] == 3


def test_object_arrays_and_other_python_objects_are_refused():
    with pytest.raises(protocol.ProtocolError, match="would need pickle"):
        protocol.encode({"a": np.array([{"x": 1}], dtype=object)})
    with pytest.raises(protocol.ProtocolError, match="cannot send a set"):
        protocol.encode({"a": {1, 2}})


def test_a_truncated_or_foreign_frame_is_a_protocol_error():
    frame = protocol.encode({"a": np.ones(100)})
    with pytest.raises(protocol.ProtocolError, match="truncated"):
        protocol.decode(frame[:-10])
    with pytest.raises(protocol.ProtocolError, match="not JSON"):
        protocol.decode(b"\x00\x00\x00\x03abc")
