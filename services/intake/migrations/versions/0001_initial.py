"""Encounters, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.messaging.migration import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
SCHEMA = "intake"


def upgrade() -> None:
    create_messaging_tables_v1(SCHEMA)
    op.create_table(
        "encounters",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("external_encounter_id", sa.Text, nullable=False),
        sa.Column("claim_type", sa.Text, nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("coding", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_encounters"),
        sa.UniqueConstraint("tenant_id", "external_encounter_id", name="uq_encounters_tenant_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("encounters", schema=SCHEMA)
    drop_messaging_tables_v1(SCHEMA)
