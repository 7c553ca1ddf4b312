"""Cursor paging for every list endpoint: a page of items and an opaque cursor to the next page.

A cursor is the sort key of the page's last item (keyset paging), so a page never skips or repeats a
row when rows are added meanwhile and costs the same on page 1 and page 10,000. It is opaque to
clients: base64url of a JSON array; a cursor that does not decode is a 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Annotated, Generic, TypeVar

import sqlalchemy as sa
from fastapi import HTTPException, Query, status
from pydantic import BaseModel, Field

ItemT = TypeVar("ItemT")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
CursorParam = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` of the previous page; leave out for the first page."),
]


class InvalidCursor(ValueError):
    """The cursor was not made by this endpoint."""


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def encode_cursor(*key: str) -> str:
    """The cursor after an item with this sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> tuple[str, ...]:
    """The sort key a cursor carries; InvalidCursor when it is not one of ours."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("not a cursor of this list") from None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(part, str) for part in key):
        raise InvalidCursor("not a cursor of this list")
    return tuple(key)


Keyset = tuple[dt.datetime, uuid.UUID]
"""The sort key most lists page by: the row's creation time, then its id."""


def keyset_cursor(at: dt.datetime, row_id: uuid.UUID) -> str:
    return encode_cursor(at.isoformat(), str(row_id))


def after_cursor(cursor: str | None) -> Keyset | None:
    """The keyset a cursor of a (time, id) list carries, None for the first page; a 422 naming `cursor`
    when it is not one of ours."""
    if cursor is None:
        return None
    try:
        at, row_id = decode_cursor(cursor, 2)
        return dt.datetime.fromisoformat(at), uuid.UUID(row_id)
    except (InvalidCursor, ValueError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list", "type": "value_error"}],
        ) from None


def next_cursor(keys: list[Keyset], limit: int) -> str | None:
    """The cursor after a full page's last item; None when the page was not full (the last page)."""
    return keyset_cursor(*keys[-1]) if keys and len(keys) >= limit else None


PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""Pattern of a text filter: no control characters (Postgres text cannot carry NUL)."""


def rows_after(
    at: sa.ColumnElement[dt.datetime], row_id: sa.ColumnElement[uuid.UUID], key: Keyset
) -> sa.ColumnElement[bool]:
    """Rows after `key` in (time, id) order, as one row-value comparison so an index on (…, time, id)
    serves it as a range (an OR of the two halves makes Postgres filter row by row)."""
    return sa.tuple_(at, row_id) > sa.tuple_(
        sa.literal(key[0], type_=sa.DateTime(timezone=True)), sa.literal(key[1], type_=sa.Uuid)
    )
