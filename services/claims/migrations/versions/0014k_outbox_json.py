"""The outbox's envelope as JSON text, not JSONB (see `outbox_envelope_as_json_v2`).

Revision ID: 0014k
Revises: 0013
"""

from shared.messaging.migration import outbox_envelope_as_json_v2, outbox_envelope_as_jsonb_v1

revision = "0014k"
down_revision = "0013"
SCHEMA = "claims"


def upgrade() -> None:
    outbox_envelope_as_json_v2(SCHEMA)


def downgrade() -> None:
    outbox_envelope_as_jsonb_v1(SCHEMA)
