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
    ("record", "table", "folded"),
    [
        (ClaimRecord, claims, {"phi"}),  # the sealed PHI members, put back into `document` by the repository
        (ClaimLineRecord, claim_lines, set()),
        (StatusChangeRecord, claim_status_history, set()),
        (FeeScheduleRecord, fee_schedule_entries, set()),
    ],
)
def test_a_row_record_has_exactly_the_columns_of_its_table(record: type, table: sa.Table, folded: set[str]) -> None:
    assert {f.name for f in dataclasses.fields(record)} == set(table.columns.keys()) - folded


def test_a_new_line_is_its_copy_row_exactly_in_the_tables_column_order() -> None:
    assert ClaimLine._fields == tuple(claim_lines.columns.keys())


def test_a_new_claim_writes_only_columns_of_the_claims_table() -> None:
    written = {f.name for f in dataclasses.fields(NewClaim)} - {"contents"} | {
        f.name for f in dataclasses.fields(ClaimContents)
    }
    assert written <= set(claims.columns.keys())
