"""The outbox's envelope as JSON text, not JSONB (see `outbox_envelope_as_json_v2`).

Revision ID: 0006k
Revises: 0005
"""

from shared.messaging.migration import outbox_envelope_as_json_v2, outbox_envelope_as_jsonb_v1

revision = "0006k"
down_revision = "0005"
SCHEMA = "denials"


def upgrade() -> None:
    outbox_envelope_as_json_v2(SCHEMA)


def downgrade() -> None:
    outbox_envelope_as_jsonb_v1(SCHEMA)
