"""Eligibility checks: one 270 sent, the 271 answer stored; interchange control numbers from a sequence.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
SCHEMA = "intake"


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE {SCHEMA}.eligibility_interchange_numbers MINVALUE 1 MAXVALUE 999999999 START 1 CYCLE")
    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("coverage_id", sa.Uuid, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("provider_npi", sa.String(10), nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("trace_number", sa.Text, nullable=False),
        sa.Column("interchange_control_number", sa.Integer, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("sent_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("answer", JSONB, nullable=True),
        sa.Column("response_file_name", sa.Text, nullable=True),
        sa.Column("response_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eligibility_checks"),
        sa.UniqueConstraint("trace_number", name="uq_eligibility_checks_trace_number"),
        sa.UniqueConstraint("interchange_control_number", name="uq_eligibility_checks_interchange_control_number"),
        sa.CheckConstraint(
            "state IN ('sent', 'active', 'inactive', 'rejected', 'unknown')", name="ck_eligibility_checks_state"
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            [f"{SCHEMA}.coverages.id"],
            name="fk_eligibility_checks_coverage_id_coverages",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_eligibility_checks_tenant_id_patient_id", "eligibility_checks", ["tenant_id", "patient_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("eligibility_checks", schema=SCHEMA)
    op.execute(f"DROP SEQUENCE {SCHEMA}.eligibility_interchange_numbers")
