"""The inbox statement's array literals (`text_array`, `integer_array`) read back by Postgres as the values sent,
whatever characters an event id holds."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import integer_array, text_array

pytestmark = pytest.mark.integration

ODD = ["plain", 'a"quote', "back\\slash", '\\"both', "", "NULL", "{x,y}", " spaced ", "ünï", "'"]


async def test_text_and_integer_arrays_read_back_as_sent(admin_db: asyncpg.Connection) -> None:
    plain = ["0f8e2c1a-1111-4a4a-8b8b-000000000001", "encounter-coded", "encounter-coded.v1"]
    assert await admin_db.fetchval("SELECT CAST($1::text AS text[])", text_array(plain)) == plain
    assert await admin_db.fetchval("SELECT CAST($1::text AS text[])", text_array(ODD)) == ODD
    assert await admin_db.fetchval("SELECT CAST($1::text AS text[])", text_array([])) == []
    numbers = [0, 5, 2**40, -1]
    assert await admin_db.fetchval("SELECT CAST($1::text AS bigint[])", integer_array(numbers)) == numbers
