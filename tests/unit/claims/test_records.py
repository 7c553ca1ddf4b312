"""Records that carry whole rows name exactly their table's columns, so a column added to `models.py`
fails here instead of in a `Record(**row)` at run time."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from services.claims.models import claim_lines, claim_status_history, claims, fee_schedule_entries
from services.claims.records import (
    ClaimContents,
    ClaimLine,
    ClaimLineRecord,
    ClaimRecord,
    FeeScheduleRecord,
    NewClaim,
    StatusChangeRecord,
)


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (ClaimRecord, claims),
        (ClaimLineRecord, claim_lines),
        (StatusChangeRecord, claim_status_history),
        (FeeScheduleRecord, fee_schedule_entries),
        (ClaimLine, claim_lines),
    ],
)
def test_a_row_record_has_exactly_the_columns_of_its_table(record: type, table: sa.Table) -> None:
    assert {f.name for f in dataclasses.fields(record)} == set(table.columns.keys())


def test_a_new_claim_writes_only_columns_of_the_claims_table() -> None:
    written = {f.name for f in dataclasses.fields(NewClaim)} - {"contents"} | {
        f.name for f in dataclasses.fields(ClaimContents)
    }
    assert written <= set(claims.columns.keys())
