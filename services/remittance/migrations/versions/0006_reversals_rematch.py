"""Look-ups that reversals, re-matching and PLB linking make: suspended payments by the claim they name
(a `claim-submitted` consumed after its claim's 835), posted payments by the payer's claim control number
(PLB03-2 of a recoupment).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
SCHEMA = "remittance"


def upgrade() -> None:
    op.create_index(
        "ix_claim_payments_suspense_claim",
        "claim_payments",
        ["tenant_id", "claim_control_number"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'suspense'"),
    )
    op.create_index(
        "ix_claim_payments_payer_claim", "claim_payments", ["tenant_id", "payer_claim_control_number"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_claim_payments_payer_claim", table_name="claim_payments", schema=SCHEMA)
    op.drop_index("ix_claim_payments_suspense_claim", table_name="claim_payments", schema=SCHEMA)
