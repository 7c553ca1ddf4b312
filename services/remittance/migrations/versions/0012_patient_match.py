"""Member-id digests for matching a suspended payment by hand: `submitted_claims.member_digest` (from
`claim-submitted`) and `claim_payments.member_digests` (what a suspended 835 payment names); keyed digests, never
the ids (shared/patient_match.py).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
SCHEMA = "remittance"


def upgrade() -> None:
    op.add_column(
        "submitted_claims",
        sa.Column(
            "member_digest",
            sa.Text,
            nullable=True,
            comment="Keyed digest of the subscriber's member id (shared/patient_match.py), never the id.",
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "claim_payments",
        sa.Column(
            "member_digests",
            JSONB,
            nullable=True,
            comment="A suspended payment: keyed digests of the member ids its 835 names (NM1*QC/IL/74), never the ids.",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("claim_payments", "member_digests", schema=SCHEMA)
    op.drop_column("submitted_claims", "member_digest", schema=SCHEMA)
