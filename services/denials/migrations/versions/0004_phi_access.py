"""PHI at rest and access audit: the tenant key table and the append-only PHI access log.

Revision ID: 0004
Revises: 0002
"""

from shared.phi.migration import create_phi_tables_v1, drop_phi_tables_v1

revision = "0004"
down_revision = "0002"
SCHEMA = "denials"


def upgrade() -> None:
    create_phi_tables_v1(SCHEMA)


def downgrade() -> None:
    drop_phi_tables_v1(SCHEMA)
