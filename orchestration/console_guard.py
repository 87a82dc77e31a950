"""The console's HTTP boundary: a body-size limit, the operator token, and a JSON body for every error.

Why each piece exists: a 10 MB body used to be parsed for 10 s before it was refused (the limit answers
413 from the Content-Length, or as soon as the bytes read pass it); anything that moves the robot
needs the token that `hvla serve` prints (a page on another origin cannot set the header, so a link
or form elsewhere cannot start the arm); and the page shows `detail` of every failure, so no error,
not even an unexpected one, may answer with an empty or plain-text body.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hvla.core.errors import HvlaError

TOKEN_ENV = "HVLA_CONSOLE_TOKEN"
MAX_BODY_BYTES = 64 * 1024  # the largest request is an instruction of 500 characters or a burst of keys
log = logging.getLogger("hvla.console")


class ConsoleError(HvlaError):
    """A request the console refuses; `status` is its HTTP status code."""

    status = 400


class ConflictError(ConsoleError):
    """The console's state forbids the request now (e-stop latched, a run in progress, no approval pending)."""

    status = 409


class NotFoundError(ConsoleError):
    """No such run, frame or camera."""

    status = 404


class AuthError(ConsoleError):
    """The request moves the robot or changes the console's state and carries no valid token."""

    status = 401


class BusyError(ConsoleError):
    """The work did not finish in time, or the same work is already under way."""

    status = 503


def console_token(explicit: str | None = None) -> str:
    """The operator token: `explicit`, else $HVLA_CONSOLE_TOKEN, else a fresh random one (printed by `hvla serve`)."""
    token = explicit or os.environ.get(TOKEN_ENV, "").strip()
    return token or secrets.token_urlsafe(18)


def token_dependency(token: str) -> Callable[..., None]:
    """A FastAPI dependency that refuses (401) a request without `token` in `Authorization: Bearer` or
    `X-HVLA-Token`. Compared in constant time, so the token cannot be guessed byte by byte."""
    expected = token.encode()

    def require_token(
        authorization: str | None = Header(default=None),
        x_hvla_token: str | None = Header(default=None),
    ) -> None:
        given = x_hvla_token
        if given is None and authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), expected):
            raise AuthError(
                "this action moves the robot or changes the console, so it needs the console token: open the "
                "address `hvla serve` printed (http://HOST:PORT/?token=...) or send 'Authorization: Bearer <token>'"
            )

    return require_token


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 without being parsed.

    The declared Content-Length is checked before reading; a body sent without one (chunked) is counted
    while it is read, and refused as soon as it passes the limit. The body read is handed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_json(send, 400, f"Content-Length {declared.decode(errors='replace')!r} is not a number")
                return
            if int(declared) > self.max_bytes:
                await _send_json(send, 413, self._too_large(int(declared)))
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, self._too_large(size))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: int) -> str:
        return f"request body of {size} bytes or more; the console accepts at most {self.max_bytes} bytes"


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


def readable_validation_error(errors: list[dict[str, Any]]) -> str:
    """pydantic's error list as one sentence an operator can act on ("seed: must be >= 0; ...")."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            msg = "the request body is not valid JSON"
        elif err.get("type") == "missing" and not loc:
            msg = "a JSON body is required"
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def install_guards(app: FastAPI, token: str, max_body_bytes: int = MAX_BODY_BYTES) -> Callable[..., None]:
    """Add the body limit and the JSON error handlers to `app`; returns the token dependency."""
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": readable_validation_error(errors), "errors": errors}, status_code=422)

    @app.exception_handler(HvlaError)
    async def refused(request: Request, exc: HvlaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "error_type": type(exc).__name__},
                            status_code=getattr(exc, "status", 400))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("console: %s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}: {exc}); the console is still "
                                       "running, and the server log has the traceback",
                             "error_type": type(exc).__name__}, status_code=500)

    return token_dependency(token)
