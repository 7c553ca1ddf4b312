"""Cheaper outbox rows: the envelope as JSON text, not JSONB; no unique index on the random event id (see
`slim_outbox_v2`).

Revision ID: 0007
Revises: 0006
"""

from shared.messaging.migration import slim_outbox_v2, unslim_outbox_v1

revision = "0007"
down_revision = "0006"
SCHEMA = "notifications"


def upgrade() -> None:
    slim_outbox_v2(SCHEMA)


def downgrade() -> None:
    unslim_outbox_v1(SCHEMA)
