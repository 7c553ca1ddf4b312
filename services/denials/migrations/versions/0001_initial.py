"""Denial cases, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from shared.messaging.migration import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
SCHEMA = "denials"


def upgrade() -> None:
    create_messaging_tables_v1(SCHEMA)
    op.create_table(
        "denial_cases",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("trace_number", sa.Text, nullable=False),
        sa.Column("denial", sa.Text, nullable=False),
        sa.Column("denied_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("carcs", ARRAY(sa.Text), nullable=False),
        sa.Column("rarcs", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_denial_cases"),
        sa.UniqueConstraint("tenant_id", "claim_control_number", "trace_number", name="uq_denial_cases_tenant_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("denial_cases", schema=SCHEMA)
    drop_messaging_tables_v1(SCHEMA)
