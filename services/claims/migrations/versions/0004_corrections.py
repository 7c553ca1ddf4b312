"""Corrected (frequency 7) and void (frequency 8) claims asked for by the denials service, once per action.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "claims"


def upgrade() -> None:
    op.create_table(
        "claim_corrections",
        sa.Column("action_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("original_claim_id", sa.Uuid, nullable=False),
        sa.Column("corrected_claim_id", sa.Uuid, nullable=False),
        sa.Column("frequency_code", sa.String(1), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name="pk_claim_corrections"),
        sa.ForeignKeyConstraint(
            ["original_claim_id"], ["claims.claims.id"], name="fk_claim_corrections_original_claim_id_claims"
        ),
        sa.CheckConstraint("frequency_code IN ('7', '8')", name="ck_claim_corrections_frequency"),
        schema=SCHEMA,
        comment="One corrected or void claim per denials action (the action id is the idempotency key).",
    )


def downgrade() -> None:
    op.drop_table("claim_corrections", schema=SCHEMA)
