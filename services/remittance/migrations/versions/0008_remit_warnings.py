"""The parse warnings of a posted 835 (faulty non-financial elements read around), kept with the file.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
SCHEMA = "remittance"


def upgrade() -> None:
    op.add_column(
        "remittance_files",
        sa.Column(
            "warnings",
            JSONB,
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
            comment="Faulty non-financial elements read around while posting: segment id, position, element, message.",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("remittance_files", "warnings", schema=SCHEMA)
