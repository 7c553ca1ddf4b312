"""Idempotent answers sealed: intake's stored answer to a request sent with `Idempotency-Key` (a registration
answers with the patient) is kept in `idempotency_keys.response_sealed`, sealed with the tenant's data key.

Answers stored before stay readable in `response_body` and are replayed as they are.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("response_sealed", sa.LargeBinary, nullable=True, comment="PHI: the answer, sealed (shared.phi)."),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "response_sealed", schema=SCHEMA)
