"""`ix_claim_payments_reversal_of`: whether a payment is already reversed is one index probe, so the hot
posting queries (duplicate holds, COB chains, reversals) cost the same however many reversals a tenant has.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
SCHEMA = "remittance"


def upgrade() -> None:
    op.create_index(
        "ix_claim_payments_reversal_of",
        "claim_payments",
        ["tenant_id", "reversal_of"],
        schema=SCHEMA,
        postgresql_where=sa.text("reversal_of IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_claim_payments_reversal_of", table_name="claim_payments", schema=SCHEMA)
