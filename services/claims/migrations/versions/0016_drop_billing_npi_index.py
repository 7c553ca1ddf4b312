"""The billing-NPI index goes: one index entry fewer per claim row version.

`ix_claims_tenant_id_billing_provider_npi`: the provider search asks for the billing NPI *or* the document's rendering
NPI, an OR the index cannot answer, so Postgres read it for the tenant alone (as any tenant-led index would do); no
query names the billing NPI alone. Each claim row version (three on the hot path) wrote an entry.

The foreign keys of a claim's lines and status history to the claim stay: they cost a lookup and a KEY SHARE lock of
the claim per row inserted (seven per claim), which `bench/claims_sql.py --variants` measures, and the database's own
check that no line or history row names a claim that is not there is worth that on a system that bills real money.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
SCHEMA = "claims"


def upgrade() -> None:
    op.drop_index("ix_claims_tenant_id_billing_provider_npi", table_name="claims", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "ix_claims_tenant_id_billing_provider_npi", "claims", ["tenant_id", "billing_provider_npi"], schema=SCHEMA
    )
