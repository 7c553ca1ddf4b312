"""Tables of the denials schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables
from shared.phi.access import phi_access_table
from shared.phi.keys import phi_keys_table

SCHEMA = "denials"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
phi_keys = phi_keys_table(metadata)
phi_access = phi_access_table(metadata)

denial_cases = sa.Table(
    "denial_cases",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("trace_number", sa.Text, nullable=False),
    sa.Column("denial", sa.Text, nullable=False, doc="full, partial, or underpayment"),
    sa.Column("denied_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("carcs", ARRAY(sa.Text), nullable=False),
    sa.Column("rarcs", ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
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
    sa.UniqueConstraint("tenant_id", "claim_control_number", "trace_number", "kind", name="uq_denial_cases_remit"),
)
sa.Index(
    "ix_denial_cases_queue",
    denial_cases.c.tenant_id,
    denial_cases.c.expected_recovery_cents.desc(),
    denial_cases.c.due_date,
    postgresql_where=denial_cases.c.status.in_(["open", "upheld"]),
)
sa.Index(
    "ix_denial_cases_pending",
    denial_cases.c.tenant_id,
    denial_cases.c.claim_control_number,
    postgresql_where=denial_cases.c.status == "pending_payer",
)
sa.Index(
    "ix_denial_cases_corrected",
    denial_cases.c.tenant_id,
    denial_cases.c.corrected_claim_control_number,
    postgresql_where=denial_cases.c.corrected_claim_control_number.is_not(None),
)

case_history = sa.Table(
    "case_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("denials.denial_cases.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("entry", sa.Text, nullable=False, comment="opened, assigned, note, action, outcome"),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
sa.Index("ix_case_history_case", case_history.c.case_id, case_history.c.id)

case_actions = sa.Table(
    "case_actions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("denials.denial_cases.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger),
    sa.Column("reason_code", sa.Text),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_case_actions_tenant_id"),
)

appeal_letters = sa.Table(
    "appeal_letters",
    metadata,
    sa.Column("action_id", sa.Uuid, sa.ForeignKey("denials.case_actions.id"), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("denials.denial_cases.id", ondelete="CASCADE"), nullable=False),
    sa.Column("appeal_level", sa.Integer, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("sha256", sa.Text),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("answer", sa.Text, comment="overturned, partially_overturned or upheld"),
    sa.UniqueConstraint("file_name", name="uq_appeal_letters_file_name"),
)
sa.Index("ix_appeal_letters_unsent", appeal_letters.c.created_at, postgresql_where=appeal_letters.c.sent_at.is_(None))

submitted_claims = sa.Table(
    "submitted_claims",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("claim_control_number", sa.Text, primary_key=True),
    sa.Column("claim_id", sa.Uuid, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("frequency_code", sa.String(1), nullable=False),
    sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("service_date", sa.Date),
    sa.Column("billing_provider_npi", sa.Text),
    sa.Column("billing_provider_name", sa.Text),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)

remitted_claims = sa.Table(
    "remitted_claims",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("claim_control_number", sa.Text, primary_key=True),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("first_remitted_on", sa.Date, nullable=False),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    comment="Each claim's first remittance: the denominator of the initial denial rate.",
)

payer_claim_numbers = sa.Table(
    "payer_claim_numbers",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("claim_control_number", sa.Text, primary_key=True),
    sa.Column("trace_number", sa.Text, primary_key=True),
    sa.Column("payer_claim_control_number", sa.Text, nullable=False),
    comment="CLP07 of each remittance: a denial's case finds it whichever event came first.",
)

contract_rates = sa.Table(
    "contract_rates",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("payer_id", sa.Text, primary_key=True),
    sa.Column("procedure_code", sa.Text, primary_key=True),
    sa.Column("modifier", sa.Text, primary_key=True, server_default=""),
    sa.Column("allowed_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("allowed_cents > 0", name="positive_allowed"),
)

payer_calendars = sa.Table(
    "payer_calendars",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("payer_id", sa.Text, primary_key=True),
    sa.Column("appeal_days", ARRAY(sa.Integer), nullable=False),
    sa.Column("timely_filing_days", sa.Integer, nullable=False),
    sa.Column("near_days", sa.Integer, nullable=False),
    sa.Column("underpayment_tolerance_cents", sa.BigInteger, nullable=False),
    sa.Column("cost_to_work_cents", sa.BigInteger, nullable=False),
)

code_descriptions = sa.Table(
    "code_descriptions",
    metadata,
    sa.Column("list", sa.Text, primary_key=True, comment="carc or rarc"),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date),
    sa.Column("stop_date", sa.Date),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
)
