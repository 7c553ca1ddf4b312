"""Cursor paging (`shared/paging.py`): a cursor carries the last item's sort key and nothing else works."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi import HTTPException

from shared.paging import InvalidCursor, after_cursor, decode_cursor, encode_cursor, keyset_cursor, next_cursor


def test_a_cursor_round_trips_its_key_and_a_foreign_one_is_refused() -> None:
    assert decode_cursor(encode_cursor("a", "b"), 2) == ("a", "b")
    for foreign in ("not-ours", encode_cursor("a"), encode_cursor("a", "b", "c"), "e30"):
        with pytest.raises(InvalidCursor):
            decode_cursor(foreign, 2)


def test_a_full_page_gets_a_cursor_to_its_last_item_and_a_short_page_none() -> None:
    at, row_id = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC), uuid.uuid4()
    keys = [(at, uuid.uuid4()), (at, row_id)]
    cursor = next_cursor(keys, 2)
    assert cursor == keyset_cursor(at, row_id) and after_cursor(cursor) == (at, row_id)
    assert next_cursor(keys, 3) is None and next_cursor([], 1) is None
    assert after_cursor(None) is None
    with pytest.raises(HTTPException) as refused:
        after_cursor(encode_cursor("yesterday", "not-a-uuid"))
    assert refused.value.status_code == 422
