"""Fewer hidden statements and index entries per claim: the lines' and status history's foreign keys to their claim
and the billing-NPI index go.

- `fk_claim_lines_claim_id_claims` and `fk_claim_status_history_claim_id_claims`: each row inserted ran the
  constraint's check, a lookup of its claim through `pk_claims` and a KEY SHARE lock on that row version (a WAL record
  when it is the transaction's first lock of the version): seven checks per claim on the hot path (two lines, five
  status changes) and three LOCK records, one in each of the claim's transactions (built, batched, submitted). Both
  tables are written only by the claims service, with their claim: lines and the first history rows in the
  transaction that inserts it (only for the claims the insert returned), later history rows by
  `lifecycle.change_states` after locking the claim's row; no claim is ever deleted, so nothing needs the cascade.
- `ix_claims_tenant_id_billing_provider_npi`: the provider search asks for the billing NPI *or* the document's
  rendering NPI, an OR the index cannot answer, so Postgres read it for the tenant alone (as any tenant-led index
  would do); no query names the billing NPI alone. Each claim row version (three on the hot path) wrote an entry.

bench/claims_sql.py measures a claim's lifecycle at 0015 and as migrated.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
SCHEMA = "claims"


CHECKED = ("claim_lines", "claim_status_history")
"""The tables whose foreign key to their claim goes (`fk_<table>_claim_id_claims`)."""


def upgrade() -> None:
    for table in CHECKED:
        op.drop_constraint(f"fk_{table}_claim_id_claims", table, schema=SCHEMA, type_="foreignkey")
    op.drop_index("ix_claims_tenant_id_billing_provider_npi", table_name="claims", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "ix_claims_tenant_id_billing_provider_npi", "claims", ["tenant_id", "billing_provider_npi"], schema=SCHEMA
    )
    for table in CHECKED:
        op.create_foreign_key(
            f"fk_{table}_claim_id_claims",
            table,
            "claims",
            ["claim_id"],
            ["id"],
            source_schema=SCHEMA,
            referent_schema=SCHEMA,
            ondelete="CASCADE",
        )
