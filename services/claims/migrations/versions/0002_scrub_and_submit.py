"""Claim lines, status history, control numbers, fee schedules, scrub settings, NCCI edits, submissions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0002"
down_revision = "0001"
SCHEMA = "claims"


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    for column in (
        sa.Column("claim_control_number", sa.String(20)),
        sa.Column("patient_id", sa.Uuid),
        sa.Column("frequency_code", sa.String(1), server_default="1", nullable=False),
        sa.Column("service_date_from", sa.Date),
        sa.Column("service_date_to", sa.Date),
        sa.Column("document", JSONB, comment="The encounter-coded payload as priced and fixed; holds PHI."),
        sa.Column("findings", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("submission_id", sa.Uuid),
        _now("updated_at"),
    ):
        op.add_column("claims", column, schema=SCHEMA)
    op.create_unique_constraint(
        "uq_claims_tenant_id_claim_control_number", "claims", ["tenant_id", "claim_control_number"], schema=SCHEMA
    )
    op.create_index(
        "ix_claims_ready", "claims", ["created_at"], schema=SCHEMA, postgresql_where=sa.text("state = 'ready'")
    )
    op.create_index("ix_claims_tenant_state", "claims", ["tenant_id", "state"], schema=SCHEMA)

    op.create_table(
        "claim_lines",
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("line_number", sa.Integer, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("procedure_code", sa.Text),
        sa.Column("revenue_code", sa.Text),
        sa.Column("modifiers", ARRAY(sa.Text), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("charge_cents", sa.BigInteger),
        sa.Column("diagnosis_pointers", ARRAY(sa.Integer), nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("claim_id", "line_number", name="pk_claim_lines"),
        sa.ForeignKeyConstraint(
            ["claim_id"], [f"{SCHEMA}.claims.id"], name="fk_claim_lines_claim_id_claims", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_claim_lines_service",
        "claim_lines",
        ["tenant_id", "patient_id", "payer_id", "service_date"],
        schema=SCHEMA,
    )
    op.create_table(
        "claim_status_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _now("at"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_status_history"),
        sa.ForeignKeyConstraint(
            ["claim_id"], [f"{SCHEMA}.claims.id"], name="fk_claim_status_history_claim_id_claims", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_claim_status_history_claim_id", "claim_status_history", ["claim_id", "id"], schema=SCHEMA)
    op.create_table(
        "claim_number_counters",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_claim_number_counters"),
        schema=SCHEMA,
    )
    op.create_table(
        "fee_schedule_entries",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("modifier", sa.Text, server_default="", nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "code", "modifier", name="pk_fee_schedule_entries"),
        sa.CheckConstraint("charge_cents > 0", name="ck_fee_schedule_entries_positive_charge"),
        schema=SCHEMA,
    )
    op.create_table(
        "disabled_scrub_rules",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("rule_id", sa.Text, nullable=False),
        _now("disabled_at"),
        sa.PrimaryKeyConstraint("tenant_id", "rule_id", name="pk_disabled_scrub_rules"),
        schema=SCHEMA,
    )
    op.create_table(
        "ncci_ptp_edits",
        sa.Column("provider_type", sa.Text, nullable=False, comment="practitioner or hospital"),
        sa.Column("column1", sa.String(5), nullable=False),
        sa.Column("column2", sa.String(5), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("deletion_date", sa.Date),
        sa.Column("modifier_indicator", sa.String(1), nullable=False),
        sa.Column("rationale", sa.Text, server_default="", nullable=False),
        sa.PrimaryKeyConstraint("provider_type", "column1", "column2", "effective_date", name="pk_ncci_ptp_edits"),
        schema=SCHEMA,
    )
    op.create_table(
        "mue_edits",
        sa.Column("service_type", sa.Text, nullable=False, comment="practitioner, outpatient_hospital or dme"),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("max_units", sa.Integer, nullable=False),
        sa.Column("adjudication", sa.String(1), nullable=False),
        sa.Column("rationale", sa.Text, server_default="", nullable=False),
        sa.PrimaryKeyConstraint("service_type", "code", name="pk_mue_edits"),
        schema=SCHEMA,
    )
    op.create_table(
        "x12_control_numbers",
        sa.Column("submitter_id", sa.Text, nullable=False),
        sa.Column("next_interchange", sa.Integer, nullable=False),
        sa.Column("next_group", sa.Integer, nullable=False),
        sa.Column("next_transaction", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("submitter_id", name="pk_x12_control_numbers"),
        schema=SCHEMA,
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("submitter_id", sa.Text, nullable=False),
        sa.Column("receiver_id", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("interchange_control_number", sa.Integer, nullable=False),
        sa.Column("claim_count", sa.Integer, nullable=False),
        sa.Column("x12", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _now("created_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint(
            "submitter_id", "interchange_control_number", name="uq_submissions_submitter_id_interchange_control_number"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "submission_transactions",
        sa.Column("submission_id", sa.Uuid, nullable=False),
        sa.Column("submitter_id", sa.Text, nullable=False),
        sa.Column("group_control_number", sa.Integer, nullable=False),
        sa.Column("transaction_control_number", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("claim_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("submitter_id", "transaction_control_number", name="pk_submission_transactions"),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{SCHEMA}.submissions.id"],
            name="fk_submission_transactions_submission_id_submissions",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "submission_transactions",
        "submissions",
        "x12_control_numbers",
        "mue_edits",
        "ncci_ptp_edits",
        "disabled_scrub_rules",
        "fee_schedule_entries",
        "claim_number_counters",
        "claim_status_history",
        "claim_lines",
    ):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_claims_tenant_state", table_name="claims", schema=SCHEMA)
    op.drop_index("ix_claims_ready", table_name="claims", schema=SCHEMA)
    op.drop_constraint("uq_claims_tenant_id_claim_control_number", "claims", schema=SCHEMA)
    for column in (
        "updated_at", "submission_id", "findings", "document", "service_date_to", "service_date_from",
        "frequency_code", "patient_id", "claim_control_number",
    ):  # fmt: skip
        op.drop_column("claims", column, schema=SCHEMA)
