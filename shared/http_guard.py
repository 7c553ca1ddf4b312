"""What every service does with a request before any route sees it, and with an error after: bodies
capped while they stream in (before parsing or authentication), JSON checked strictly (no NaN or
Infinity, no lone surrogates, bounded nesting), and error answers that say what and where but never
echo the values sent (they can be PHI).

Every error answer is RFC 9457 problem details (`application/problem+json`), a refused field listed in
`errors` with its `loc` and JSON `pointer`; under `/fhir/` it is a FHIR `OperationOutcome` instead.

The limits are per path prefix: small for JSON, larger for file uploads such as 835s.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.openapi import FHIR_MEDIA_TYPE, FHIR_PREFIX, PROBLEM_MEDIA_TYPE, json_pointer, operation_outcome, problem

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64
JSON_MEDIA_TYPES = ("application/json", "application/fhir+json", "application/merge-patch+json")
ACCEPTED_MEDIA_TYPES = (*JSON_MEDIA_TYPES, "application/x-www-form-urlencoded", "multipart/form-data")
"""What a route that declares a body can parse; any other media type is a 415."""
DECODED_BODY = "claimflow.decoded_body"
"""Scope key: the body as its route's `body_decoder` decoded it here, so the route does not parse it again."""
BodyDecoder = Callable[[bytes], object | None]
"""A route's strict decoder of its body (its `body_decoder` attribute): the decoded body when the route accepts it,
None when the route must judge it. Whatever it accepts must be JSON `json_problem` accepts (it then is not checked
twice)."""


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
    to the route unchanged. A route of `router` with a `body_decoder` (see BodyDecoder) has its body decoded
    here instead of checked: the decoded body goes to the route in the scope (DECODED_BODY); one it declines is
    checked as any other."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, router: Router | None = None) -> None:
        self._app = app
        self._limits = limits
        self._router = router
        self._decoders: dict[tuple[str, str], BodyDecoder] | None = None

    def _decoder(self, method: str, path: str) -> BodyDecoder | None:
        if self._router is None:
            return None
        if self._decoders is None:  # the routes are all there by the first request
            self._decoders = _body_decoders(self._router.routes)
        return self._decoders.get((method, path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (where := _nul_in_url(scope)) is not None:
            refused = [{"type": "value_error", "loc": where, "msg": "must not contain NUL characters"}]
            answer = error_response(scope["path"], status.HTTP_422_UNPROCESSABLE_CONTENT, _summary(refused), refused)
            await answer(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self._app(scope, receive, send)
            return
        limit = self._limits.for_path(scope["path"])
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(scope["path"], limit)(scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except BodyTooLarge:
            await _too_large(scope["path"], limit)(scope, receive, send)
            return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and media_type in JSON_MEDIA_TYPES:
            decode = self._decoder(scope["method"], scope["path"])
            decoded = None if decode is None else decode(body)
            if decoded is not None:
                scope[DECODED_BODY] = decoded  # in place: the middlewares outside read what routing adds to it
                await self._app(scope, _replay(body, receive), send)
                return
            problem = json_problem(body)
            if problem is not None:
                answer = error_response(scope["path"], status.HTTP_400_BAD_REQUEST, f"malformed JSON body: {problem}")
                await answer(scope, receive, send)
                return
        await self._app(scope, _replay(body, receive), send)


def _body_decoders(routes: list[BaseRoute]) -> dict[tuple[str, str], BodyDecoder]:
    """(method, path) -> decoder of each route with a `body_decoder` and no parameter in its path (the path with the
    prefixes of the routers it was included by: FastAPI includes a router's own route objects)."""
    decoders: dict[tuple[str, str], BodyDecoder] = {}
    for context in iter_route_contexts(routes):
        decode = getattr(context.original_route, "body_decoder", None)
        path = context.path or ""
        if decode is None or "{" in path:
            continue
        for method in context.methods or ():
            decoders[(method, path)] = decode
    return decoders


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
    invalid UTF-8 and lone surrogates; nesting is bounded here so no parser downstream recurses deeply.

    Depth and NUL are read from the bytes of the valid document, not by walking the parsed one: walking a
    1,000-encounter batch cost more than parsing it."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno} (byte {exc.pos})"
    if _bytes_depth(body) > MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels"
    if _NUL_ESCAPE in body and _holds_nul(document):
        return "a string holds a NUL character (\\u0000), which no record can store"
    return None


_NUL_ESCAPE = b"\\u0000"
"""Valid JSON carries a NUL only escaped (the parser refuses a raw control byte), so a body without this text
holds none; one with it (or with an escaped backslash before `u0000`) is walked."""
_ESCAPE = re.compile(rb"\\.")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{]}"))
_NESTING_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _bytes_depth(body: bytes) -> int:
    """The deepest nesting of a valid JSON document (a top-level object or array is 1, a scalar 0), from its
    brackets outside strings: with the escapes taken out, the strings are every other piece between quotes."""
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)
    brackets = b"".join(body.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    return max(accumulate(memoryview(brackets.translate(_NESTING_STEP)).cast("b")), default=0)


def _holds_nul(document: Any) -> bool:
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _nul_in_url(scope: Scope) -> list[str] | None:
    """Where a NUL character is in the path or query (Postgres text cannot hold one: it would be a 500)."""
    if "\x00" in scope.get("path", ""):
        return ["path"]
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ["query", name.replace("\x00", "")]
    return None


def _too_large(path: str, limit: int) -> JSONResponse:
    return error_response(path, status.HTTP_413_CONTENT_TOO_LARGE, f"request body too large: at most {limit} bytes")


def error_response(
    path: str,
    status_code: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one shape of every error answer: problem details, or an OperationOutcome under /fhir/."""
    if path.startswith(FHIR_PREFIX):
        issues = [(str(e.get("msg", "")), [str(e["expression"])] if e.get("expression") else []) for e in errors or []]
        return JSONResponse(
            operation_outcome(status_code, issues or [(detail, [])]),
            status_code=status_code,
            media_type=FHIR_MEDIA_TYPE,
            headers=headers,
        )
    extensions: dict[str, object] = {}
    if errors is not None:
        extensions["errors"] = [_located(error) for error in errors]
    return JSONResponse(
        problem(status_code, detail, **extensions), status_code=status_code, media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )  # fmt: skip


def _located(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    pointer = json_pointer(loc)
    return {**error, "loc": loc, **({"pointer": pointer} if pointer is not None else {})}


def _summary(errors: list[dict[str, Any]]) -> str:
    where = ", ".join(".".join(str(part) for part in error.get("loc", ())) for error in errors[:5])
    more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
    noun = "field is" if len(errors) == 1 else "fields are"
    return f"{len(errors)} {noun} not valid: {where}{more}"


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """An HTTPException raised by a route or dependency, as problem details. A `detail` that lists refused
    fields becomes `errors`; one that is a mapping adds its keys as extension members."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    detail: object = exc.detail
    if isinstance(detail, list) and all(isinstance(item, dict) for item in detail):
        return error_response(request.url.path, exc.status_code, _summary(detail), errors=detail, headers=headers)
    if isinstance(detail, dict) and not request.url.path.startswith(FHIR_PREFIX):
        extensions = {k: v for k, v in detail.items() if k not in ("type", "title", "status", "detail")}
        text = str(detail.get("detail") or detail.get("message") or detail.get("reason") or "")
        return JSONResponse(
            problem(exc.status_code, text, **extensions),
            status_code=exc.status_code,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=headers,
        )
    return error_response(request.url.path, exc.status_code, str(detail), headers=headers)


WITHHELD = "(value withheld)"


def _without_input(error: Mapping[str, Any]) -> str:
    """The error's message with the value that was sent taken out (a validator may quote it: "taxonomy 'X' must
    be ..."); the field's location says where."""
    message = str(error.get("msg", ""))
    value = error.get("input")
    if isinstance(value, str) and len(value) >= 2 and value in message:
        message = message.replace(repr(value), WITHHELD).replace(value, WITHHELD)
    return message


async def validation_error_without_values(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 echoes each invalid value (`input`) and its context; this one says what and where
    only. A JSON object expected but something else sent is a 415."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": _without_input(error)}
        for error in exc.errors()
    ]
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body_refused = any(error["loc"][:1] == ["body"] for error in errors)
    if body_refused and request.method in ("POST", "PUT", "PATCH") and media_type not in ACCEPTED_MEDIA_TYPES:
        return error_response(
            request.url.path, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"
        )
    return error_response(request.url.path, status.HTTP_422_UNPROCESSABLE_CONTENT, _summary(errors), errors=errors)


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500 that names nothing of the request; the log gets the traceback without messages or locals."""
    log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__), extra={"method": request.method})
    return error_response(request.url.path, status.HTTP_500_INTERNAL_SERVER_ERROR, "the error was logged")


def install(app: FastAPI, limits: BodyLimits) -> None:
    app.add_middleware(RequestGuard, limits=limits, router=app.router)
    app.add_exception_handler(RequestValidationError, validation_error_without_values)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unhandled_error)
