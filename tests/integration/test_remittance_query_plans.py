"""The hot queries of an 835 posting reach their rows through an index: their cost follows the file, not the
tables (issue 10's cost curve).

Each statement of `HOT_QUERIES` is EXPLAINed in the migrated schema with sequential scans, hash and merge
joins switched off for the statement: a plan that still scans a table whole, or an index without a
condition, means no index can serve that lookup. (The planner's real choice on a large table is the
benchmark's business, bench/remittance_posting.py; on the test's near-empty tables it would pick anything.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from services.remittance.repository import HOT_QUERIES

pytestmark = pytest.mark.integration

_TABLES = frozenset({"submitted_claims", "claim_payments", "ledger_entries", "refund_items"})
_ARRAYS: dict[str, list[Any]] = {
    "submitted claims by CLP01": ["CF0000000001", "CF0000000002"],
    "open balances of claims": [str(uuid.uuid4()), str(uuid.uuid4())],
    "settle refund items of claims": [str(uuid.uuid4()), str(uuid.uuid4())],
    "stored payment keys of checks": [["SANDBOX", "TRN-1"], ["SANDBOX", "TRN-2"]],
}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def unindexed_reads(plan: dict[str, Any]) -> list[str]:
    """The scans of a plan that read a hot table whole: a sequential scan, or an index scan with no condition."""
    found = []
    for node in _nodes(plan):
        kind, table = node["Node Type"], node.get("Relation Name")
        if kind == "Seq Scan" and table in _TABLES:
            found.append(f"{kind} on {table}")
        elif kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan") and "Index Cond" not in node:
            found.append(f"{kind} on {node.get('Index Name')} without a condition")
    return found


def test_the_check_sees_a_whole_table_read() -> None:
    seq = {"Node Type": "Seq Scan", "Relation Name": "ledger_entries"}
    full_index = {"Node Type": "Index Only Scan", "Index Name": "ix_claim_payments_reversal_of"}
    probe = {"Node Type": "Index Scan", "Index Name": "ix_claim_payments_claim", "Index Cond": "(claim_id = ANY ($2))"}
    assert unindexed_reads({"Node Type": "Nested Loop", "Plans": [probe, seq]}) == ["Seq Scan on ledger_entries"]
    assert unindexed_reads({"Node Type": "Hash Join", "Plans": [full_index]}) == [
        "Index Only Scan on ix_claim_payments_reversal_of without a condition"
    ]
    assert unindexed_reads(probe) == []


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
async def test_hot_posting_query_uses_an_index(admin_db: asyncpg.Connection, name: str) -> None:
    array = _ARRAYS.get(name, [uuid.uuid4(), uuid.uuid4()])
    async with admin_db.transaction():
        await admin_db.execute("SET LOCAL enable_seqscan = off")
        await admin_db.execute("SET LOCAL enable_hashjoin = off")
        await admin_db.execute("SET LOCAL enable_mergejoin = off")
        explained = await admin_db.fetchval(f"EXPLAIN (FORMAT JSON) {HOT_QUERIES[name]}", "tenant-plans", array)
    (plan,) = json.loads(explained)
    assert unindexed_reads(plan["Plan"]) == [], json.dumps(plan["Plan"], indent=1)
