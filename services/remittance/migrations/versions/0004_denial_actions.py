"""Write-offs and transfers to the patient asked for by the denials service, applied once per action.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "remittance"


def upgrade() -> None:
    op.create_table(
        "denial_adjustments",
        sa.Column("action_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason_code", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('write_off', 'transfer_to_patient')", name="ck_denial_adjustments_kind"),
        sa.CheckConstraint("amount_cents > 0", name="ck_denial_adjustments_positive"),
        sa.PrimaryKeyConstraint("action_id", name="pk_denial_adjustments"),
        schema=SCHEMA,
        comment="One row per denials action: the ledger entries it posted carry source keys denial-action:<id>:*.",
    )


def downgrade() -> None:
    op.drop_table("denial_adjustments", schema=SCHEMA)
