"""Activity feed, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging.migration import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
SCHEMA = "notifications"


def upgrade() -> None:
    create_messaging_tables_v1(SCHEMA)
    op.create_table(
        "activity",
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_activity"),
        schema=SCHEMA,
    )
    op.create_index("ix_activity_tenant_subject", "activity", ["tenant_id", "subject"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("activity", schema=SCHEMA)
    drop_messaging_tables_v1(SCHEMA)
