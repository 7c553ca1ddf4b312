"""Less work per new case: cases waiting on the payer get their own small index, the claim index goes.

- `ix_denial_cases_claim` (tenant, claim control number) repeated the first columns of `uq_denial_cases_remit`,
  which serves the same lookups: every new case paid for a second entry.
- A denial looks for a case of its claim waiting on the payer (its appeal or corrected claim) among the few cases
  in that state (`ix_denial_cases_pending`), not among every case ever opened.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
SCHEMA = "denials"


def upgrade() -> None:
    op.drop_index("ix_denial_cases_claim", "denial_cases", schema=SCHEMA)
    op.create_index(
        "ix_denial_cases_pending",
        "denial_cases",
        ["tenant_id", "claim_control_number"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending_payer'"),
    )


def downgrade() -> None:
    op.drop_index("ix_denial_cases_pending", "denial_cases", schema=SCHEMA)
    op.create_index("ix_denial_cases_claim", "denial_cases", ["tenant_id", "claim_control_number"], schema=SCHEMA)
