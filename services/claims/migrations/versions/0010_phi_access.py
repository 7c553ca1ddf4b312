"""PHI at rest and access audit: the tenant key table and the append-only PHI access log.

Revision ID: 0010
Revises: 0009
"""

from shared.phi.migration import create_phi_tables_v1, drop_phi_tables_v1

revision = "0010"
down_revision = "0009"
SCHEMA = "claims"


def upgrade() -> None:
    create_phi_tables_v1(SCHEMA)


def downgrade() -> None:
    drop_phi_tables_v1(SCHEMA)
