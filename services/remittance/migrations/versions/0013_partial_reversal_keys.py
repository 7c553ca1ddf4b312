"""Reversal keys as partial unique indexes: `claim_payments.reversal_of` and `ledger_entries.reversal_of` stay
unique (a payment, an entry, is reversed at most once), but only reversals are indexed. The plain unique
constraints put a NULL key in their index for every payment and every entry posted (all but the reversals),
an index insertion per row that nothing ever reads. `ix_claim_payments_reversal_of` (0011) is the same
lookup as the new unique index and goes. The claim payments' index leads with the tenant, as every lookup of it
does (`NOT EXISTS ... reversal.tenant_id = $1 AND reversal.reversal_of = payment.id`): a reversal is always in its
payment's tenant, and on small tables the planner would otherwise read the whole index and filter the tenant.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
SCHEMA = "remittance"
_REVERSALS_ONLY = sa.text("reversal_of IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_claim_payments_reversal_of", table_name="claim_payments", schema=SCHEMA)
    for table, columns in (("claim_payments", ["tenant_id", "reversal_of"]), ("ledger_entries", ["reversal_of"])):
        op.drop_constraint(f"uq_{table}_reversal_of", table, schema=SCHEMA, type_="unique")
        op.create_index(
            f"uq_{table}_reversal_of", table, columns, unique=True, schema=SCHEMA, postgresql_where=_REVERSALS_ONLY
        )


def downgrade() -> None:
    for table in ("claim_payments", "ledger_entries"):
        op.drop_index(f"uq_{table}_reversal_of", table_name=table, schema=SCHEMA)
        op.create_unique_constraint(f"uq_{table}_reversal_of", table, ["reversal_of"], schema=SCHEMA)
    op.create_index(
        "ix_claim_payments_reversal_of",
        "claim_payments",
        ["tenant_id", "reversal_of"],
        schema=SCHEMA,
        postgresql_where=_REVERSALS_ONLY,
    )
