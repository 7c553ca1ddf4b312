"""What every service does with a request before any route sees it, and with an error after: bodies
capped while they stream in (before parsing or authentication), JSON checked strictly (no NaN or
Infinity, no lone surrogates, bounded nesting), and error answers that say what and where but never
echo the values sent (they can be PHI).

The limits are per path prefix: small for JSON, larger for file uploads such as 835s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64
JSON_MEDIA_TYPES = ("application/json", "application/fhir+json", "application/merge-patch+json")
ACCEPTED_MEDIA_TYPES = (*JSON_MEDIA_TYPES, "application/x-www-form-urlencoded", "multipart/form-data")
"""What a route that declares a body can parse; any other media type is a 415."""


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """`default` bytes for any body; `by_path_prefix` overrides it for routes that take files."""

    default: int = DEFAULT_MAX_BODY_BYTES
    by_path_prefix: Mapping[str, int] = field(default_factory=dict)

    def for_path(self, path: str) -> int:
        matches = [prefix for prefix in self.by_path_prefix if path.startswith(prefix)]
        return self.by_path_prefix[max(matches, key=len)] if matches else self.default


class BodyTooLarge(Exception):
    pass


class RequestGuard:
    """Pure ASGI middleware: refuses an oversized body (413) from its Content-Length or while it
    streams, and a malformed JSON body (400) before the route parses it; the body it read is replayed
    to the route unchanged."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self._app = app
        self._limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self._app(scope, receive, send)
            return
        limit = self._limits.for_path(scope["path"])
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except BodyTooLarge:
            await _too_large(limit)(scope, receive, send)
            return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and media_type in JSON_MEDIA_TYPES:
            problem = json_problem(body)
            if problem is not None:
                await _problem(status.HTTP_400_BAD_REQUEST, "malformed JSON body", problem)(scope, receive, send)
                return
        await self._app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, once; then the client's own messages (a disconnect when it comes)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def json_problem(body: bytes) -> str | None:
    """Why `body` is not acceptable JSON (with its position), or None. orjson refuses NaN, Infinity,
    invalid UTF-8 and lone surrogates; nesting is bounded here so no parser downstream recurses deeply."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno} (byte {exc.pos})"
    if _depth(document) > MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def _depth(document: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
        if deepest > MAX_JSON_DEPTH:
            break
    return deepest


def _too_large(limit: int) -> JSONResponse:
    return _problem(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large", f"at most {limit} bytes")


def _problem(status_code: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status_code, "detail": detail},
        status_code=status_code,
        media_type="application/problem+json",
    )


async def validation_error_without_values(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 echoes each invalid value (`input`) and its context; this one says what and where
    only. A JSON object expected but something else sent is a 415."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": error.get("msg")}
        for error in exc.errors()
    ]
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body_refused = any(error["loc"][:1] == ["body"] for error in errors)
    if body_refused and request.method in ("POST", "PUT", "PATCH") and media_type not in ACCEPTED_MEDIA_TYPES:
        return _problem(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "unsupported media type", "send the body as application/json"
        )
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500 that names nothing of the request; the log gets the traceback without messages or locals."""
    log.error(
        "unhandled error", exc_info=(type(exc), exc, exc.__traceback__), extra={"method": request.method}
    )
    return _problem(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error", "the error was logged")


def install(app: FastAPI, limits: BodyLimits) -> None:
    app.add_middleware(RequestGuard, limits=limits)
    app.add_exception_handler(RequestValidationError, validation_error_without_values)
    app.add_exception_handler(Exception, unhandled_error)
