"""Tables of the claims schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

from services.claims.domain.claim_state import ClaimState
from shared.db import service_metadata
from shared.idempotency import idempotency_table
from shared.messaging.tables import messaging_tables
from shared.phi.access import phi_access_table
from shared.phi.keys import phi_keys_table

SCHEMA = "claims"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
phi_keys = phi_keys_table(metadata)
phi_access = phi_access_table(metadata)

claims = sa.Table(
    "claims",
    metadata,
    # Migration 0013 sets toast_tuple_target = 128: `document` and `phi` live out of line, so a state change
    # (a new row version) copies a TOAST pointer, not the ~2.5 KB they hold; `phi` (ciphertext) is STORAGE EXTERNAL.
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("encounter_id", sa.Uuid, nullable=False),
    sa.Column("claim_type", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("claim_control_number", sa.String(20)),
    sa.Column("patient_id", sa.Uuid),
    sa.Column("frequency_code", sa.String(1), nullable=False, server_default="1"),
    sa.Column("service_date_from", sa.Date),
    sa.Column("service_date_to", sa.Date),
    # JSON text as written (0015), not jsonb: read whole, never indexed inside; parsing it into jsonb was the
    # largest cost of a claim's insert.
    sa.Column(
        "document",
        JSON,
        comment="The encounter-coded payload as priced and fixed, without its PHI (the phi block, tax ids): those "
        "members are sealed in `phi`. Rows stored before 0012 hold them here in plaintext.",
    ),
    sa.Column("findings", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("submission_id", sa.Uuid),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("transaction_control_number", sa.Integer, comment="ST02 of the 837 transaction set it went out in."),
    sa.Column("submission_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payer_claim_number", sa.Text, comment="REF*1K of the 277CA, or CLP07 of the 835."),
    sa.Column("rejection_reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column(
        "primary_claim_id",
        sa.Uuid,
        sa.ForeignKey("claims.claims.id"),
        comment="For a secondary claim: the primary claim whose remittance it carries.",
    ),
    sa.Column("responsibility", sa.String(1), nullable=False, server_default="P", comment="SBR01: P, S or T."),
    sa.Column(
        "trace_context",
        JSONB,
        nullable=True,
        comment="W3C trace context of the claim's trace, continued by the events written for it later (837 batch).",
    ),
    sa.Column(
        "withdrawn_at",
        sa.DateTime(timezone=True),
        nullable=True,
        comment="A secondary claim withdrawn because its primary's payment was reversed: cancelled before it was "
        "sent, or voided (a frequency-8 claim) after. A primary has at most one secondary not withdrawn.",
    ),
    sa.Column("billing_provider_npi", sa.String(10), comment="Searchable copy of the document's billing NPI."),
    sa.Column("phi", sa.LargeBinary, comment="The document's members holding PHI, sealed (shared.phi)."),
    sa.UniqueConstraint("tenant_id", "claim_control_number"),
)
sa.Index(  # secondary claims only (0015): a primary's null key would add an entry to each of its row versions
    "uq_claims_primary_claim_id",
    claims.c.primary_claim_id,
    unique=True,
    postgresql_where=sa.and_(claims.c.withdrawn_at.is_(None), claims.c.primary_claim_id.is_not(None)),
)
sa.Index(
    "uq_claims_tenant_id_encounter_id_primary",
    claims.c.tenant_id,
    claims.c.encounter_id,
    unique=True,
    postgresql_where=claims.c.primary_claim_id.is_(None),
)
sa.Index("ix_claims_ready", claims.c.created_at, postgresql_where=claims.c.state == ClaimState.READY.value)
sa.Index("ix_claims_tenant_state", claims.c.tenant_id, claims.c.state)
sa.Index("ix_claims_tenant_id_patient_id", claims.c.tenant_id, claims.c.patient_id)
sa.Index("ix_claims_tenant_id_created_at", claims.c.tenant_id, claims.c.created_at, claims.c.id)
sa.Index(  # claims that went out in an 837 only (0015): every query of it names a submission
    "ix_claims_submission_id_transaction_control_number",
    claims.c.submission_id,
    claims.c.transaction_control_number,
    postgresql_where=claims.c.submission_id.is_not(None),
)

claim_lines = sa.Table(
    "claim_lines",
    metadata,
    sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.claims.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("line_number", sa.Integer, primary_key=True),
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
)
sa.Index(
    "ix_claim_lines_service",
    claim_lines.c.tenant_id,
    claim_lines.c.patient_id,
    claim_lines.c.payer_id,
    claim_lines.c.service_date,
)

claim_status_history = sa.Table(
    "claim_status_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.claims.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # (claim_id, id): a claim's history in order, from the key itself (0015; one index, not two, per status change)
    sa.PrimaryKeyConstraint("claim_id", "id"),
)

claim_number_counters = sa.Table(
    "claim_number_counters",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
)

fee_schedule_entries = sa.Table(
    "fee_schedule_entries",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("modifier", sa.Text, primary_key=True, server_default=""),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("charge_cents > 0", name="positive_charge"),
)

disabled_scrub_rules = sa.Table(
    "disabled_scrub_rules",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("rule_id", sa.Text, primary_key=True),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

ncci_ptp_edits = sa.Table(
    "ncci_ptp_edits",
    metadata,
    sa.Column("provider_type", sa.Text, primary_key=True, comment="practitioner or hospital"),
    sa.Column("column1", sa.String(5), primary_key=True),
    sa.Column("column2", sa.String(5), primary_key=True),
    sa.Column("effective_date", sa.Date, primary_key=True),
    sa.Column("deletion_date", sa.Date),
    sa.Column("modifier_indicator", sa.String(1), nullable=False),
    sa.Column("rationale", sa.Text, nullable=False, server_default=""),
)

mue_edits = sa.Table(
    "mue_edits",
    metadata,
    sa.Column("service_type", sa.Text, primary_key=True, comment="practitioner, outpatient_hospital or dme"),
    sa.Column("code", sa.String(5), primary_key=True),
    sa.Column("max_units", sa.Integer, nullable=False),
    sa.Column("adjudication", sa.String(1), nullable=False),
    sa.Column("rationale", sa.Text, nullable=False, server_default=""),
)

x12_control_numbers = sa.Table(
    "x12_control_numbers",
    metadata,
    sa.Column("submitter_id", sa.Text, primary_key=True),
    sa.Column("next_interchange", sa.Integer, nullable=False),
    sa.Column("next_group", sa.Integer, nullable=False),
    sa.Column("next_transaction", sa.Integer, nullable=False),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("submitter_id", sa.Text, nullable=False),
    sa.Column("receiver_id", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("interchange_control_number", sa.Integer, nullable=False),
    sa.Column("claim_count", sa.Integer, nullable=False),
    sa.Column("x12", sa.Text, comment="The file's text on rows stored before 0012; NULL once sealed in `phi`."),
    sa.Column("phi", sa.LargeBinary, comment="The file's text (names, birth dates, member ids), sealed."),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("submitter_id", "interchange_control_number"),
)
sa.Index("ix_submissions_stored", submissions.c.created_at, postgresql_where=submissions.c.status == "stored")

submission_transactions = sa.Table(
    "submission_transactions",
    metadata,
    sa.Column("submission_id", sa.Uuid, sa.ForeignKey("claims.submissions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("submitter_id", sa.Text, nullable=False),
    sa.Column("group_control_number", sa.Integer, nullable=False),
    sa.Column("transaction_control_number", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("claim_count", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("submitter_id", "transaction_control_number"),
)


acknowledgment_files = sa.Table(
    "acknowledgment_files",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False, comment="Empty when no claim of ours was recognised."),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("claims_changed", sa.Integer, nullable=False),
    sa.Column("summary", JSONB, nullable=False, comment="Counts and codes only; no PHI."),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "sha256"),
)

claim_payments = sa.Table(
    "claim_payments",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True, comment="payment-received.v1 payment_id."),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.claims.id"), nullable=False),
    sa.Column("trace_number", sa.Text, nullable=False),
    sa.Column("claim_status_code", sa.Text, nullable=False),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_cents", sa.BigInteger, nullable=False),
    sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("next_responsible", sa.Text, nullable=False),
    sa.Column("paid_date", sa.Date, nullable=False),
    sa.Column("reversal_of", sa.Uuid),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("payment", JSONB, nullable=False, comment="The payment-received payload (ids, codes, amounts)."),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
sa.Index("ix_claim_payments_claim_id", claim_payments.c.claim_id)

status_requests = sa.Table(
    "status_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("submitter_id", sa.Text, nullable=False),
    sa.Column("interchange_control_number", sa.Integer, nullable=False),
    sa.Column("claim_count", sa.Integer, nullable=False),
    sa.Column("x12", sa.Text, comment="The file's text on rows stored before 0012; NULL once sealed in `phi`."),
    sa.Column("phi", sa.LargeBinary, comment="The file's text (names, birth dates, member ids), sealed."),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("submitter_id", "interchange_control_number"),
)

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("trace_number", sa.Text, primary_key=True, comment="TRN02 of the 276; the 277 echoes it."),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.claims.id"), nullable=False),
    sa.Column("request_id", sa.Uuid, sa.ForeignKey("claims.status_requests.id"), nullable=False),
    sa.Column("state_when_flagged", sa.Text, nullable=False),
    sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("answer_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
)
sa.Index("ix_follow_ups_tenant_id_flagged_at", follow_ups.c.tenant_id, follow_ups.c.flagged_at)
sa.Index("ix_follow_ups_claim_id", follow_ups.c.claim_id)

claim_corrections = sa.Table(
    "claim_corrections",
    metadata,
    sa.Column("action_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Uuid, nullable=False),
    sa.Column("original_claim_id", sa.Uuid, sa.ForeignKey("claims.claims.id"), nullable=False),
    sa.Column("corrected_claim_id", sa.Uuid, nullable=False),
    sa.Column("frequency_code", sa.String(1), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("frequency_code IN ('7', '8')", name="frequency"),
    comment="One corrected or void claim per denials action (the action id is the idempotency key).",
)

idempotency_keys = idempotency_table(metadata)
