"""Secondary claims withdrawn when their primary's payment is reversed: `withdrawn_at`, and at most one
secondary per primary that is not withdrawn (so a re-payment builds its own).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
SCHEMA = "claims"


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column(
            "withdrawn_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="A secondary claim withdrawn because its primary's payment was reversed: cancelled before it "
            "was sent, or voided (a frequency-8 claim) after. A primary has at most one secondary not withdrawn.",
        ),
        schema=SCHEMA,
    )
    op.drop_constraint("uq_claims_primary_claim_id", "claims", schema=SCHEMA)
    op.create_index(
        "uq_claims_primary_claim_id",
        "claims",
        ["primary_claim_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_claims_primary_claim_id", table_name="claims", schema=SCHEMA)
    op.create_unique_constraint("uq_claims_primary_claim_id", "claims", ["primary_claim_id"], schema=SCHEMA)
    op.drop_column("claims", "withdrawn_at", schema=SCHEMA)
