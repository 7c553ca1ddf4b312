"""Indexes for the hot path's queries that read a growing table without one: the claims of a submission
(marked sent; found again by a 999/277CA's transaction set) and the stored 837s waiting to be sent.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
SCHEMA = "claims"


def upgrade() -> None:
    op.create_index(
        "ix_claims_submission_id_transaction_control_number",
        "claims",
        ["submission_id", "transaction_control_number"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_submissions_stored",
        "submissions",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'stored'"),
    )


def downgrade() -> None:
    op.drop_index("ix_submissions_stored", table_name="submissions", schema=SCHEMA)
    op.drop_index("ix_claims_submission_id_transaction_control_number", table_name="claims", schema=SCHEMA)
