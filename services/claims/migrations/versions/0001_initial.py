"""Claims, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging.migration import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
SCHEMA = "claims"


def upgrade() -> None:
    create_messaging_tables_v1(SCHEMA)
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("encounter_id", sa.Uuid, nullable=False),
        sa.Column("claim_type", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("line_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.UniqueConstraint("tenant_id", "encounter_id", name="uq_claims_tenant_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("claims", schema=SCHEMA)
    drop_messaging_tables_v1(SCHEMA)
