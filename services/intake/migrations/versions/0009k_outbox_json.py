"""The outbox's envelope as JSON text, not JSONB (see `outbox_envelope_as_json_v2`).

Revision ID: 0009k
Revises: 0008
"""

from shared.messaging.migration import outbox_envelope_as_json_v2, outbox_envelope_as_jsonb_v1

revision = "0009k"
down_revision = "0008"
SCHEMA = "intake"


def upgrade() -> None:
    outbox_envelope_as_json_v2(SCHEMA)


def downgrade() -> None:
    outbox_envelope_as_jsonb_v1(SCHEMA)
