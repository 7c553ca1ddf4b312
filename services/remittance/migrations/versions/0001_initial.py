"""Submitted claims awaiting remittance, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging.migration import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
SCHEMA = "remittance"


def upgrade() -> None:
    create_messaging_tables_v1(SCHEMA)
    op.create_table(
        "submitted_claims",
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name="pk_submitted_claims"),
        sa.UniqueConstraint("tenant_id", "claim_control_number", name="uq_submitted_claims_tenant_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("submitted_claims", schema=SCHEMA)
    drop_messaging_tables_v1(SCHEMA)
