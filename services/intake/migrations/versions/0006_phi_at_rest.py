"""PHI at rest: sealed records of patients, coverages, providers and party history, blind indexes for the
columns searched by equality, the tenant key table and the append-only PHI access log.

Existing rows stay readable in plaintext until `claimflow phi encrypt-existing --service intake` seals them
(a migration has no key).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from shared.phi.migration import create_phi_tables_v1, drop_phi_tables_v1

revision = "0006"
down_revision = "0005"
SCHEMA = "intake"


def upgrade() -> None:
    create_phi_tables_v1(SCHEMA)
    for table in ("patients", "coverages", "providers", "party_changes"):
        op.add_column(table, sa.Column("phi", sa.LargeBinary, nullable=True), schema=SCHEMA)
    op.alter_column("patients", "external_patient_id", nullable=True, schema=SCHEMA)
    for column in ("external_patient_id_bidx", "last_name_bidx", "first_name_bidx", "birth_date_bidx"):
        op.add_column("patients", sa.Column(column, sa.LargeBinary, nullable=True), schema=SCHEMA)
    op.create_unique_constraint(
        "uq_patients_tenant_id_external_patient_id_bidx",
        "patients",
        ["tenant_id", "external_patient_id_bidx"],
        schema=SCHEMA,
    )
    op.create_index("ix_patients_tenant_id_last_name_bidx", "patients", ["tenant_id", "last_name_bidx"], schema=SCHEMA)
    op.alter_column("coverages", "member_id", nullable=True, schema=SCHEMA)
    op.add_column("coverages", sa.Column("member_id_bidx", sa.LargeBinary, nullable=True), schema=SCHEMA)
    op.create_unique_constraint(
        "uq_coverages_tenant_id_patient_id_payer_id_member_id_bidx",
        "coverages",
        ["tenant_id", "patient_id", "payer_id", "member_id_bidx"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_coverages_tenant_id_member_id_bidx", "coverages", ["tenant_id", "member_id_bidx"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_coverages_tenant_id_member_id_bidx", "coverages", schema=SCHEMA)
    op.drop_constraint("uq_coverages_tenant_id_patient_id_payer_id_member_id_bidx", "coverages", schema=SCHEMA)
    op.drop_column("coverages", "member_id_bidx", schema=SCHEMA)
    op.drop_index("ix_patients_tenant_id_last_name_bidx", "patients", schema=SCHEMA)
    op.drop_constraint("uq_patients_tenant_id_external_patient_id_bidx", "patients", schema=SCHEMA)
    for column in ("external_patient_id_bidx", "last_name_bidx", "first_name_bidx", "birth_date_bidx"):
        op.drop_column("patients", column, schema=SCHEMA)
    for table in ("patients", "coverages", "providers", "party_changes"):
        op.drop_column(table, "phi", schema=SCHEMA)
    drop_phi_tables_v1(SCHEMA)
