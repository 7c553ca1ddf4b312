"""The outbox's payload in a column of its own, the row's last, and whether it is emptied once published: the relay
claims and marks a batch in one statement that rewrites only the rows' tails (see `split_outbox_payload_v3`).

Revision ID: 0007
Revises: 0006
"""

from shared.messaging.migration import split_outbox_payload_v3, unsplit_outbox_payload_v2

revision = "0007"
down_revision = "0006"
SCHEMA = "denials"


def upgrade() -> None:
    split_outbox_payload_v3(SCHEMA)


def downgrade() -> None:
    unsplit_outbox_payload_v2(SCHEMA)
