"""PHI at rest and access audit: the tenant key table and the append-only PHI access log.

Revision ID: 0005
Revises: 0004
"""

from shared.phi.migration import create_phi_tables_v1, drop_phi_tables_v1

revision = "0005"
down_revision = "0004"
SCHEMA = "notifications"


def upgrade() -> None:
    create_phi_tables_v1(SCHEMA)


def downgrade() -> None:
    drop_phi_tables_v1(SCHEMA)
