"""Denial work queue: classified cases with due dates and expected recovery, history, actions, appeal
letters, contract rates, payer calendars, CARC/RARC descriptions, claims submitted and remitted (KPIs).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0002"
down_revision = "0001"
SCHEMA = "denials"

CASE_COLUMNS = [
    sa.Column("kind", sa.Text, nullable=False, server_default="denial"),
    sa.Column("claim_id", sa.Uuid),
    sa.Column("group_code", sa.Text, nullable=False, server_default="CO"),
    sa.Column("root_cause", sa.Text, nullable=False, server_default="unknown"),
    sa.Column("carc", sa.Text, comment="The CARC that decided the root cause."),
    sa.Column("unknown_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("recommended_action", sa.Text, nullable=False, server_default="review"),
    sa.Column("owner", sa.Text, nullable=False, server_default="biller"),
    sa.Column("recoverable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("appealable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("expected_recovery_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("remitted_on", sa.Date),
    sa.Column("service_date", sa.Date),
    sa.Column("due_date", sa.Date),
    sa.Column("billing_provider_npi", sa.Text),
    sa.Column("payer_claim_control_number", sa.Text, comment="CLP07 of the 835 that denied it."),
    sa.Column("appeal_level", sa.Integer, nullable=False, server_default="1"),
    sa.Column("assignee", sa.Text),
    sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"), comment="Per-line causes."),
    sa.Column("expected_cents", sa.BigInteger, comment="Underpayment: the contracted allowed amount."),
    sa.Column("paid_cents", sa.BigInteger, comment="Underpayment: what the payer paid."),
    sa.Column("corrected_claim_control_number", sa.Text),
    sa.Column("recovered_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("written_off_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
]


def upgrade() -> None:
    for column in CASE_COLUMNS:
        op.add_column("denial_cases", column, schema=SCHEMA)
    op.drop_constraint("uq_denial_cases_tenant_id", "denial_cases", schema=SCHEMA, type_="unique")
    op.create_unique_constraint(
        "uq_denial_cases_remit",
        "denial_cases",
        ["tenant_id", "claim_control_number", "trace_number", "kind"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_denial_cases_queue",
        "denial_cases",
        ["tenant_id", sa.text("expected_recovery_cents DESC"), "due_date"],
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('open', 'upheld')"),
    )
    op.create_index("ix_denial_cases_claim", "denial_cases", ["tenant_id", "claim_control_number"], schema=SCHEMA)
    op.create_index(
        "ix_denial_cases_corrected",
        "denial_cases",
        ["tenant_id", "corrected_claim_control_number"],
        schema=SCHEMA,
        postgresql_where=sa.text("corrected_claim_control_number IS NOT NULL"),
    )
    op.create_table(
        "case_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("entry", sa.Text, nullable=False, comment="opened, assigned, note, action, outcome"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_history"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["denials.denial_cases.id"], name="fk_case_history_case_id_denial_cases", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_case_history_case", "case_history", ["case_id", "id"], schema=SCHEMA)
    op.create_table(
        "case_actions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger),
        sa.Column("reason_code", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_actions"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["denials.denial_cases.id"], name="fk_case_actions_case_id_denial_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_case_actions_tenant_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "appeal_letters",
        sa.Column("action_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("appeal_level", sa.Integer, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("sha256", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answer", sa.Text, comment="overturned, partially_overturned or upheld"),
        sa.PrimaryKeyConstraint("action_id", name="pk_appeal_letters"),
        sa.ForeignKeyConstraint(
            ["action_id"], ["denials.case_actions.id"], name="fk_appeal_letters_action_id_case_actions"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["denials.denial_cases.id"], name="fk_appeal_letters_case_id_denial_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("file_name", name="uq_appeal_letters_file_name"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_appeal_letters_unsent",
        "appeal_letters",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "submitted_claims",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("frequency_code", sa.String(1), nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("service_date", sa.Date),
        sa.Column("billing_provider_npi", sa.Text),
        sa.Column("billing_provider_name", sa.Text),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "claim_control_number", name="pk_submitted_claims"),
        schema=SCHEMA,
    )
    op.create_table(
        "remitted_claims",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("first_remitted_on", sa.Date, nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "claim_control_number", name="pk_remitted_claims"),
        schema=SCHEMA,
        comment="Each claim's first remittance: the denominator of the initial denial rate.",
    )
    op.create_table(
        "payer_claim_numbers",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("trace_number", sa.Text, nullable=False),
        sa.Column("payer_claim_control_number", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "claim_control_number", "trace_number", name="pk_payer_claim_numbers"),
        schema=SCHEMA,
        comment="CLP07 of each remittance: a denial's case finds it whichever event came first.",
    )
    op.create_table(
        "contract_rates",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("procedure_code", sa.Text, nullable=False),
        sa.Column("modifier", sa.Text, server_default="", nullable=False),
        sa.Column("allowed_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("allowed_cents > 0", name="ck_contract_rates_positive_allowed"),
        sa.PrimaryKeyConstraint("tenant_id", "payer_id", "procedure_code", "modifier", name="pk_contract_rates"),
        schema=SCHEMA,
    )
    op.create_table(
        "payer_calendars",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("appeal_days", ARRAY(sa.Integer), nullable=False),
        sa.Column("timely_filing_days", sa.Integer, nullable=False),
        sa.Column("near_days", sa.Integer, nullable=False),
        sa.Column("underpayment_tolerance_cents", sa.BigInteger, nullable=False),
        sa.Column("cost_to_work_cents", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "payer_id", name="pk_payer_calendars"),
        schema=SCHEMA,
    )
    op.create_table(
        "code_descriptions",
        sa.Column("list", sa.Text, nullable=False, comment="carc or rarc"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date),
        sa.Column("stop_date", sa.Date),
        sa.Column("notes", sa.Text, server_default="", nullable=False),
        sa.PrimaryKeyConstraint("list", "code", name="pk_code_descriptions"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "code_descriptions",
        "payer_calendars",
        "contract_rates",
        "payer_claim_numbers",
        "remitted_claims",
        "submitted_claims",
        "appeal_letters",
        "case_actions",
        "case_history",
    ):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_denial_cases_corrected", "denial_cases", schema=SCHEMA)
    op.drop_index("ix_denial_cases_claim", "denial_cases", schema=SCHEMA)
    op.drop_index("ix_denial_cases_queue", "denial_cases", schema=SCHEMA)
    op.drop_constraint("uq_denial_cases_remit", "denial_cases", schema=SCHEMA, type_="unique")
    op.create_unique_constraint(
        "uq_denial_cases_tenant_id",
        "denial_cases",
        ["tenant_id", "claim_control_number", "trace_number"],
        schema=SCHEMA,
    )
    for column in reversed(CASE_COLUMNS):
        op.drop_column("denial_cases", column.name, schema=SCHEMA)
