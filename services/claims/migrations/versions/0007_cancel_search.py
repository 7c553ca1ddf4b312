"""Claims searchable by billing provider, patient and creation order (cursor paging); cancelled is a state.

Revision ID: 0007
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
SCHEMA = "claims"


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column(
            "billing_provider_npi",
            sa.String(10),
            nullable=True,
            comment="Searchable copy of the document's billing NPI.",
        ),
        schema=SCHEMA,
    )
    op.execute("UPDATE claims.claims SET billing_provider_npi = document->>'billing_provider_npi'")
    op.create_index("ix_claims_tenant_id_patient_id", "claims", ["tenant_id", "patient_id"], schema=SCHEMA)
    op.create_index("ix_claims_tenant_id_created_at", "claims", ["tenant_id", "created_at", "id"], schema=SCHEMA)
    op.create_index(
        "ix_claims_tenant_id_billing_provider_npi", "claims", ["tenant_id", "billing_provider_npi"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_claims_tenant_id_billing_provider_npi", "claims", schema=SCHEMA)
    op.drop_index("ix_claims_tenant_id_created_at", "claims", schema=SCHEMA)
    op.drop_index("ix_claims_tenant_id_patient_id", "claims", schema=SCHEMA)
    op.drop_column("claims", "billing_provider_npi", schema=SCHEMA)
