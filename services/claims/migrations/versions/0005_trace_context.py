"""The claim's W3C trace context, so the events written for it later (its 837 batch) continue its trace.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
SCHEMA = "claims"


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column(
            "trace_context",
            JSONB,
            nullable=True,
            comment="W3C trace context of the claim's trace, continued by the events written for it later (837 batch).",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("claims", "trace_context", schema=SCHEMA)
