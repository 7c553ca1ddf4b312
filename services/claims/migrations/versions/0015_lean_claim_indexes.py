"""Fewer index entries per claim row version: every update of a claim (READY -> BATCHED -> SUBMITTED, and later
ones) writes a new row version and, not being HOT (`state` is indexed), an entry in every index of `claims.claims`
whose predicate it meets; every status change adds a history row with an entry in each of its indexes.

- `uq_claims_primary_claim_id` holds only secondary claims (`primary_claim_id IS NOT NULL`): a primary's null key
  never conflicted with anything, yet each of its row versions wrote one. Its ON CONFLICT arbiter says so.
- `ix_claims_submission_id_transaction_control_number` holds only claims that went out in an 837
  (`submission_id IS NOT NULL`): a new claim writes no entry; every query of it names a submission.
- `claim_status_history`'s primary key is (claim_id, id), the order its one reader wants (a claim's history by
  id): the second index on (claim_id, id) is gone, one entry less per status change (~5 per claim).

- `claims.document` is JSON text (json), not jsonb: it is read whole (the API, the batcher's `ready_documents` as
  text) and never indexed inside; parsing ~2.3 KB into jsonb on every insert was the largest single cost of a
  claim's insert (bench/claims_sql.py --variants: 120 -> 75 µs of Postgres CPU per claim, WAL and size a little
  smaller; the document stays out of line, so the updates do not change). Rewrites `claims.claims` (ALTER COLUMN
  ... TYPE takes an exclusive lock for the rewrite).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB

revision = "0015"
down_revision = "0014"
SCHEMA = "claims"


def upgrade() -> None:
    op.drop_index("uq_claims_primary_claim_id", table_name="claims", schema=SCHEMA)
    op.create_index(
        "uq_claims_primary_claim_id",
        "claims",
        ["primary_claim_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("withdrawn_at IS NULL AND primary_claim_id IS NOT NULL"),
    )
    op.drop_index("ix_claims_submission_id_transaction_control_number", table_name="claims", schema=SCHEMA)
    op.create_index(
        "ix_claims_submission_id_transaction_control_number",
        "claims",
        ["submission_id", "transaction_control_number"],
        schema=SCHEMA,
        postgresql_where=sa.text("submission_id IS NOT NULL"),
    )
    op.drop_constraint("pk_claim_status_history", "claim_status_history", schema=SCHEMA)
    op.create_primary_key("pk_claim_status_history", "claim_status_history", ["claim_id", "id"], schema=SCHEMA)
    op.drop_index("ix_claim_status_history_claim_id", table_name="claim_status_history", schema=SCHEMA)
    op.alter_column(
        "claims", "document", type_=JSON(), existing_type=JSONB(), schema=SCHEMA, postgresql_using="document::json"
    )


def downgrade() -> None:
    op.alter_column(
        "claims", "document", type_=JSONB(), existing_type=JSON(), schema=SCHEMA, postgresql_using="document::jsonb"
    )
    op.create_index("ix_claim_status_history_claim_id", "claim_status_history", ["claim_id", "id"], schema=SCHEMA)
    op.drop_constraint("pk_claim_status_history", "claim_status_history", schema=SCHEMA)
    op.create_primary_key("pk_claim_status_history", "claim_status_history", ["id"], schema=SCHEMA)
    op.drop_index("ix_claims_submission_id_transaction_control_number", table_name="claims", schema=SCHEMA)
    op.create_index(
        "ix_claims_submission_id_transaction_control_number",
        "claims",
        ["submission_id", "transaction_control_number"],
        schema=SCHEMA,
    )
    op.drop_index("uq_claims_primary_claim_id", table_name="claims", schema=SCHEMA)
    op.create_index(
        "uq_claims_primary_claim_id",
        "claims",
        ["primary_claim_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
