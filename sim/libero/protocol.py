"""The wire format between hvla's process and the LIBERO server: JSON plus .npy arrays, never pickle.

Both interpreters import this file: hvla's (numpy 2.x) and the LIBERO venv's (numpy 1.26), so it uses only the
standard library and numpy, and imports nothing from hvla. The server loads it by its path.

One message is one `multiprocessing.connection` frame (`send_bytes` / `recv_bytes` add the length prefix):

    >I header length | header: UTF-8 JSON | array 0 as .npy | array 1 as .npy | ...

The header is `{"v": VERSION, "body": ..., "arrays": [nbytes, ...]}`. `body` is any JSON value in which every
numpy array was replaced by `{"__ndarray__": i}`, the index of its .npy blob; `np.save` / `np.load` run with
`allow_pickle=False`, so an object array cannot be sent and a frame cannot run code when read. The .npy format is
the same in numpy 1.26 and 2.x. numpy scalars travel as JSON numbers, tuples as lists; dict keys must be strings.

Requests and replies (the body):
    request   {"op": str, "id": int, "args": {name: value}}
    reply     {"id": int, "ok": true, "result": value}
    error     {"id": int, "ok": false, "error": {"type": str, "message": str, "traceback": str}}
The ops and their arguments are documented on the server's `Session` methods (sim/libero/server.py) and on
hvla's client, `LiberoServer` (sim/libero/client.py).
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import numpy as np

VERSION = 1
OPS = ("hello", "tasks", "reset", "step", "observe", "check_success", "eval_predicate", "sleep", "close")
_REF = "__ndarray__"
_LEN = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame that is not a message of this protocol (truncated, another version, an unknown op)."""


def encode(body: Any) -> bytes:
    """One frame holding `body`, its numpy arrays as .npy blobs."""
    blobs: list[bytes] = []
    header = json.dumps({"v": VERSION, "body": _pack(body, blobs), "arrays": [len(b) for b in blobs]},
                        separators=(",", ":")).encode()
    return b"".join([_LEN.pack(len(header)), header, *blobs])


def decode(frame: bytes) -> Any:
    """The body of a frame made by `encode`, arrays restored (writeable, native byte order as sent)."""
    view = memoryview(frame)
    if len(view) < _LEN.size:
        raise ProtocolError(f"frame of {len(view)} bytes is shorter than its length prefix")
    (n,) = _LEN.unpack(view[: _LEN.size])
    try:
        header = json.loads(bytes(view[_LEN.size: _LEN.size + n]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"frame header is not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("v") != VERSION:
        raise ProtocolError(f"frame of protocol version {header.get('v') if isinstance(header, dict) else '?'}, "
                            f"this side speaks {VERSION}")
    arrays, at = [], _LEN.size + n
    for size in header["arrays"]:
        if at + size > len(view):
            raise ProtocolError("frame is truncated inside its arrays")
        arrays.append(np.load(io.BytesIO(view[at: at + size]), allow_pickle=False))
        at += size
    return _unpack(header["body"], arrays)


def send(conn: Any, body: Any) -> None:
    """Send `body` as one frame over a `multiprocessing.connection.Connection`."""
    conn.send_bytes(encode(body))


def recv(conn: Any) -> Any:
    """Receive one frame's body (EOFError when the other side closed the connection)."""
    return decode(conn.recv_bytes())


def request(op: str, request_id: int, **args: Any) -> dict[str, Any]:
    if op not in OPS:
        raise ProtocolError(f"unknown op {op!r}; known: {list(OPS)}")
    return {"op": op, "id": request_id, "args": args}


def reply(request_id: int, result: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error(request_id: int, type_name: str, message: str, traceback: str = "") -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"type": type_name, "message": message, "traceback": traceback}}


def _pack(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ProtocolError(f"cannot send an array of dtype {value.dtype}: it would need pickle")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        blobs.append(buf.getvalue())
        return {_REF: len(blobs) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ProtocolError(f"dict keys must be str, got {sorted({type(k).__name__ for k in value})}")
        if _REF in value:
            raise ProtocolError(f"{_REF!r} is reserved for array references")
        return {k: _pack(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, blobs) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ProtocolError(f"cannot send a {type(value).__name__}: only JSON values and numpy arrays travel")


def _unpack(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _REF in value:
            return arrays[value[_REF]]
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    return value
