"""The `Idempotency-Key` protocol, once for every service: a key is stored with a fingerprint of the
request and, once the work is done, the response; the same key with the same request answers the
stored response without doing the work again, the same key with another request is a conflict.

The key is taken in the request's own transaction, before the work: a concurrent request with the
same key waits on the primary key until the first commits, and a request that fails rolls its key
back with everything else, so a retry runs again. Each service declares the table in its own schema
with `idempotency_table(metadata)`, as `shared/messaging/tables.py` does for the outbox and inbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

import msgspec
import orjson
import sqlalchemy as sa
from fastapi import Header, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_REUSED = "this key was used with a different request; send a new key"
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Repeat-safe retries of this request."),
]
"""The optional request header, as a FastAPI parameter: `idempotency_key: IdempotencyKey = None`."""


def idempotency_table(metadata: sa.MetaData, *, sealed_answers: bool = False) -> sa.Table:
    """`idempotency_keys` in the service's schema: one row per tenant and key. A service whose answers carry
    PHI keeps them sealed (`sealed_answers`: a `response_sealed` column, written through a `ResponseSealer`)."""
    sealed = (
        [sa.Column("response_sealed", sa.LargeBinary, nullable=True, comment="PHI: the answer, sealed (shared.phi).")]
        if sealed_answers
        else []
    )
    return sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False, doc="sha256 of method, path and the parsed body"),
        sa.Column("response_status", sa.SmallInteger, nullable=True),
        sa.Column("response_body", JSONB, nullable=True),
        *sealed,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


class ResponseSealer(Protocol):
    """Seals a stored answer for one tenant's key, and opens it for a replay."""

    async def seal(self, key: str, body: object) -> bytes: ...

    async def open(self, key: str, sealed: bytes) -> object: ...


def request_fingerprint(method: str, path: str, body: BaseModel | msgspec.Struct | Mapping[str, object]) -> str:
    """sha256 of the method, the path and the parsed body (a model as its JSON, a msgspec mirror of a model as its
    JSON, which is the model's, a mapping with sorted keys), so the same request sent with other whitespace or key
    order is still the same request."""
    if isinstance(body, BaseModel):
        canonical = body.model_dump_json()
    elif isinstance(body, msgspec.Struct):
        canonical = msgspec.json.encode(body).decode()
    else:
        canonical = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class IdempotencyConflict(Exception):
    """The key was used before with a different request."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_hash: str
    response_status: int | None
    response_body: object


@dataclass(frozen=True, slots=True)
class JsonReady:
    """An answer built of JSON values only (str, int, bool, None, lists and str-keyed dicts; no floats): stored
    and rendered as it is, by orjson, not walked by `jsonable_encoder` nor dumped by a model (a 1,000-encounter
    batch answer cost more through either than its whole insert)."""

    content: dict[str, object]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the request answers: a JSON body (already encoded) with its status, and whether it is a replay."""

    status_code: int
    body: object
    replayed: bool = False
    json_ready: bool = False
    """The body holds JSON values only (a `JsonReady` answer): rendered by orjson, the same bytes as JSONResponse."""

    def response(self) -> JSONResponse:
        headers = {REPLAYED_HEADER: "true"} if self.replayed else None
        kind = _OrjsonResponse if self.json_ready else JSONResponse
        return kind(self.body, status_code=self.status_code, headers=headers)


class _OrjsonResponse(JSONResponse):
    """JSON values rendered by orjson: the bytes JSONResponse gives (compact, UTF-8), several times faster."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


class IdempotencyKeys:
    """The keys of one tenant in one service's `idempotency_keys` table."""

    def __init__(
        self, session: AsyncSession, table: sa.Table, tenant: str, sealer: ResponseSealer | None = None
    ) -> None:
        if sealer is not None and "response_sealed" not in table.c:
            raise ValueError(f"{table.fullname} keeps no sealed answers")
        self._session = session
        self._table = table
        self._tenant = tenant
        self._sealer = sealer

    async def claim(self, key: str, request_hash: str) -> StoredKey | None:
        """Take the key for this request; None when it is new, else what the earlier request stored."""
        table = self._table
        inserted = (
            await self._session.execute(
                insert(table)
                .values(tenant_id=self._tenant, key=key, request_hash=request_hash)
                .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
                .returning(table.c.key)
            )
        ).one_or_none()
        if inserted is not None:
            return None
        sealed = [table.c.response_sealed] if self._sealer is not None else []
        earlier = (
            await self._session.execute(
                sa.select(table.c.request_hash, table.c.response_status, table.c.response_body, *sealed).where(
                    table.c.tenant_id == self._tenant, table.c.key == key
                )
            )
        ).one()
        body = earlier.response_body
        if self._sealer is not None and earlier.response_sealed is not None:
            body = await self._sealer.open(key, earlier.response_sealed)
        return StoredKey(str(earlier.request_hash), earlier.response_status, body)

    async def complete(self, key: str, status_code: int, body: object) -> None:
        table = self._table
        if self._sealer is None:
            values: dict[str, object] = {"response_status": status_code, "response_body": body}
        else:
            values = {"response_status": status_code, "response_sealed": await self._sealer.seal(key, body)}
        await self._session.execute(
            sa.update(table).where(table.c.tenant_id == self._tenant, table.c.key == key).values(values)
        )


def _encoded(content: object) -> object:
    """JSON-ready content: a model through pydantic's own serializer (a 1,000-encounter batch answer walked
    by `jsonable_encoder` cost more than storing the batch), anything else as FastAPI would."""
    if isinstance(content, JsonReady):
        return content.content
    if isinstance(content, BaseModel):
        return content.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(content)


async def answer_once(
    keys: IdempotencyKeys,
    key: str | None,
    fingerprint: str,
    run: Callable[[], Awaitable[tuple[int, object]]],
) -> Answer:
    """Run the request once per key (always when there is no key); replay the stored answer for the same
    request. Raises IdempotencyConflict when the key was used with another request.

    Replays answer 200 whatever the first status was: nothing new was created.
    """
    if key is None:
        status_code, content = await run()
        return Answer(status_code, _encoded(content), json_ready=isinstance(content, JsonReady))
    earlier = await keys.claim(key, fingerprint)
    if earlier is not None:
        if earlier.request_hash != fingerprint:
            raise IdempotencyConflict(KEY_REUSED)
        return Answer(200, earlier.response_body, replayed=True)
    status_code, content = await run()
    encoded = _encoded(content)
    await keys.complete(key, status_code, encoded)
    return Answer(status_code, encoded, json_ready=isinstance(content, JsonReady))


REPLAYED: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Replayed: the same `Idempotency-Key` and request answered before; its first answer, "
        "with `Idempotent-Replayed: true`, and nothing done again."
    },
    422: {"description": "The request is not valid, or its `Idempotency-Key` was used with a different request."},
}
"""OpenAPI responses of an operation that honours `Idempotency-Key`."""


def key_reused(exc: IdempotencyConflict) -> HTTPException:
    """422 naming the header, as intake answers a key sent again with another request."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["header", "Idempotency-Key"], "msg": str(exc), "type": "value_error"}],
    )


async def answer_request_once(
    session: AsyncSession,
    table: sa.Table,
    tenant: str,
    request: Request,
    key: str | None,
    body: BaseModel | Mapping[str, object],
    run: Callable[[], Awaitable[tuple[int, object]]],
) -> JSONResponse:
    """`answer_once` for an HTTP request in the request's own session: the fingerprint is the method, path
    and `body`; a key used with another request is a 422 (`key_reused`). `run` raises HTTPException for a
    refusal, which rolls the key back with the rest of the transaction, so a corrected retry runs."""
    fingerprint = "" if key is None else request_fingerprint(request.method, request.url.path, body)
    try:
        answer = await answer_once(IdempotencyKeys(session, table, tenant), key, fingerprint, run)
    except IdempotencyConflict as exc:
        raise key_reused(exc) from None
    return answer.response()
