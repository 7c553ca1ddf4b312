"""Cursor paging of the remittance API's queues: keyset positions (time, id) in an opaque cursor, the next
page named in `X-Next-Cursor` and a `Link: rel="next"` header, the body still a plain list."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import HTTPException, Request, Response, status

Record = TypeVar("Record")
Position = tuple[dt.datetime, uuid.UUID]


def cursor_of(position: Position) -> str:
    at, last_id = position
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{last_id}".encode()).decode().rstrip("=")


def position(cursor: str | None) -> Position | None:
    """The keyset position a cursor names; 422 for a cursor this API did not write."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, last_id = text.partition("|")
        parsed = dt.datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, uuid.UUID(last_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list", "type": "value_error"}],
        ) from None


def page(
    request: Request,
    response: Response,
    records: Sequence[Record],
    limit: int,
    key: Callable[[Record], Position],
) -> Sequence[Record]:
    """The first `limit` records (the query asked for one more); when more exist, the next page's cursor
    goes in `X-Next-Cursor` and `Link`."""
    if len(records) <= limit:
        return records
    shown = records[:limit]
    cursor = cursor_of(key(shown[-1]))
    response.headers["X-Next-Cursor"] = cursor
    next_url = request.url.include_query_params(cursor=cursor, limit=limit)
    response.headers["Link"] = f'<{next_url}>; rel="next"'
    return shown
