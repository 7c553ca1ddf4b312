"""Party history (every PATCH and claim-fix correction), encounters' patient id and cancellation.

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0003"
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "party_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("party_kind", sa.Text, nullable=False),
        sa.Column("party_id", sa.Uuid, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("changed_fields", JSONB, nullable=False),
        sa.Column("before", JSONB, nullable=False),
        sa.Column("after", JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_party_changes"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_party_changes_tenant_id_party_id", "party_changes", ["tenant_id", "party_id", "id"], schema=SCHEMA
    )
    op.add_column("encounters", sa.Column("patient_id", sa.Uuid, nullable=True), schema=SCHEMA)
    op.add_column("encounters", sa.Column("status", sa.Text, server_default="active", nullable=False), schema=SCHEMA)
    op.add_column("encounters", sa.Column("cancel_reason", sa.Text, nullable=True), schema=SCHEMA)
    op.add_column("encounters", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.execute(
        "UPDATE intake.encounters e SET patient_id = COALESCE((e.coding->>'patient_id')::uuid, "
        "(SELECT p.id FROM intake.patients p WHERE p.tenant_id = e.tenant_id "
        "AND p.external_patient_id = e.coding->>'patient_external_id'))"
    )
    op.create_index("ix_encounters_tenant_id_patient_id", "encounters", ["tenant_id", "patient_id"], schema=SCHEMA)
    op.create_index(
        "ix_encounters_tenant_id_received_at", "encounters", ["tenant_id", "received_at", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_encounters_tenant_id_received_at", "encounters", schema=SCHEMA)
    op.drop_index("ix_encounters_tenant_id_patient_id", "encounters", schema=SCHEMA)
    for column in ("cancelled_at", "cancel_reason", "status", "patient_id"):
        op.drop_column("encounters", column, schema=SCHEMA)
    op.drop_table("party_changes", schema=SCHEMA)
