"""Less work per new case: cases waiting on the payer get their own small index, the claim index and the case
history's foreign key go.

- `ix_denial_cases_claim` (tenant, claim control number) repeated the first columns of `uq_denial_cases_remit`,
  which serves the same lookups: every new case paid for a second entry.
- A denial looks for a case of its claim waiting on the payer (its appeal or corrected claim) among the few cases
  in that state (`ix_denial_cases_pending`), not among every case ever opened.
- `fk_case_history_case_id_denial_cases` checked every history line against its case row by locking that row
  (FOR KEY SHARE), which wrote each new case's row a second time. History lines are written only beside their case:
  the opening statement joins each line to the case it has just inserted, later lines follow a case read in the
  same transaction; cases are never deleted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
SCHEMA = "denials"


def upgrade() -> None:
    op.drop_constraint("fk_case_history_case_id_denial_cases", "case_history", schema=SCHEMA, type_="foreignkey")
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
    op.create_foreign_key(
        "fk_case_history_case_id_denial_cases",
        "case_history",
        "denial_cases",
        ["case_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="CASCADE",
    )
