"""Tables of the remittance schema.

Exactly once is the database's job, not only the code's: a file is stored once per tenant and
content hash, a claim payment once per tenant + payer + trace (TRN02) + CLP01 + CLP02 + occurrence,
a ledger entry once per tenant + source key, a reversal once per entry it reverses, a patient payment
once per tenant + idempotency key. Ledger entries are immutable (a trigger refuses UPDATE and DELETE).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, JSONB

from shared.db import service_metadata
from shared.idempotency import idempotency_table
from shared.messaging.tables import messaging_tables
from shared.phi.access import phi_access_table
from shared.phi.keys import phi_keys_table

SCHEMA = "remittance"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
phi_keys = phi_keys_table(metadata)
phi_access = phi_access_table(metadata)

# Claims awaiting remittance: what an 835's CLP01 is matched against.
submitted_claims = sa.Table(
    "submitted_claims",
    metadata,
    sa.Column("claim_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=True),
    sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column(
        "trace_context",
        JSONB,
        nullable=True,
        comment="W3C trace context of the claim's trace, continued by the events its 835 posting writes.",
    ),
    sa.Column(
        "encounter_id",
        sa.Uuid,
        nullable=True,
        comment="The encounter billed: a secondary claim shares it with its primary (COB netting).",
    ),
    sa.Column(
        "member_digest",
        sa.Text,
        nullable=True,
        comment="Keyed digest of the subscriber's member id (shared/patient_match.py), never the id.",
    ),
    sa.UniqueConstraint("tenant_id", "claim_control_number", name="uq_submitted_claims_tenant_id"),
    sa.Index("ix_submitted_claims_encounter", "tenant_id", "encounter_id"),
)

remittance_files = sa.Table(
    "remittance_files",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("byte_count", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("result", JSONB, nullable=False, doc="The posting summary answered to the uploader."),
    sa.Column(
        "warnings",
        JSONB,
        nullable=False,
        server_default=sa.text("'[]'::jsonb"),
        comment="Faulty non-financial elements read around while posting: segment id, position, element, message.",
    ),
    sa.UniqueConstraint("tenant_id", "content_sha256"),
)

claim_payments = sa.Table(
    "claim_payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("file_id", sa.Uuid, sa.ForeignKey("remittance.remittance_files.id"), nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("trace_number", sa.Text, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("status_code", sa.Text, nullable=False),
    sa.Column("occurrence", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("suspense_reason", sa.Text, nullable=True),
    sa.Column("claim_id", sa.Uuid, nullable=True),
    sa.Column("patient_id", sa.Uuid, nullable=True),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_cents", sa.BigInteger, nullable=False),
    sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payer_claim_control_number", sa.Text, nullable=False),
    sa.Column("paid_date", sa.Date, nullable=False),
    sa.Column("reversal_of", sa.Uuid, nullable=True),
    # JSON, not JSONB (0014): written once per payment and read back whole, never queried inside but for its
    # position; JSONB's parse on every insert was a fifth of Postgres's CPU in a posting.
    sa.Column("facts", JSON, nullable=False, doc="Adjustments, lines and remarks as read from the 835."),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("payer_name", sa.Text, nullable=True, comment="N1*PR of the 835: who paid, as a person reads it."),
    sa.Column("payment_method", sa.Text, nullable=True, comment="BPR04: CHK check, ACH/FWT/BOP EFT, NON none."),
    sa.Column("duplicate_of", sa.Uuid, nullable=True, comment="A held payment: the posted payment it repeats."),
    sa.Column("review_reason", sa.Text, nullable=True, comment="Why a person released, rejected or forced it."),
    sa.Column("reviewed_by", sa.Text, nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "member_digests",
        JSONB,
        nullable=True,
        comment="A suspended payment: keyed digests of the member ids its 835 names (NM1*QC/IL/74), never the ids.",
    ),
    sa.UniqueConstraint(
        "tenant_id",
        "payer_id",
        "trace_number",
        "claim_control_number",
        "status_code",
        "occurrence",
        name="uq_claim_payments_payment_key",
    ),
    sa.CheckConstraint("state IN ('posted', 'suspense', 'held', 'rejected')", name="state"),
    sa.CheckConstraint("(state = 'posted') = (claim_id IS NOT NULL AND posted_at IS NOT NULL)", name="posted"),
    sa.CheckConstraint("state <> 'held' OR duplicate_of IS NOT NULL", name="held"),
    sa.Index(
        "ix_claim_payments_suspense",
        "tenant_id",
        "received_at",
        "id",
        postgresql_where=sa.text("state = 'suspense'"),
    ),
    sa.Index("ix_claim_payments_held", "tenant_id", "received_at", "id", postgresql_where=sa.text("state = 'held'")),
    sa.Index(
        "ix_claim_payments_suspense_claim",
        "tenant_id",
        "claim_control_number",
        postgresql_where=sa.text("state = 'suspense'"),
    ),
    sa.Index("ix_claim_payments_payer_claim", "tenant_id", "payer_claim_control_number"),
    sa.Index("ix_claim_payments_claim", "tenant_id", "claim_id"),
    # A payment is reversed at most once (in its own tenant); only reversals are in the index (0013).
    sa.Index(
        "uq_claim_payments_reversal_of",
        "tenant_id",
        "reversal_of",
        unique=True,
        postgresql_where=sa.text("reversal_of IS NOT NULL"),
    ),
)

# Immutable: corrections are new entries (reversal_of), never updates.
ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("account_type", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("group_code", sa.Text, nullable=True),
    sa.Column("carc", sa.Text, nullable=True),
    sa.Column("line_number", sa.Integer, nullable=True),
    sa.Column("reference", sa.Text, nullable=True),
    sa.Column("claim_payment_id", sa.Uuid, nullable=True),
    sa.Column("reversal_of", sa.BigInteger, sa.ForeignKey("remittance.ledger_entries.id"), nullable=True),
    sa.Column("source_key", sa.Text, nullable=False),
    sa.Column("posted_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "source_key"),
    sa.CheckConstraint("account_type IN ('claim', 'patient', 'provider')", name="account_type"),
    sa.CheckConstraint(
        "kind IN ('charge', 'payment', 'adjustment', 'patient_responsibility', 'patient_payment', "
        "'provider_adjustment')",
        name="kind",
    ),
    sa.Index("ix_ledger_entries_account", "tenant_id", "account_type", "account_id"),
    sa.Index("ix_ledger_entries_claim_payment", "claim_payment_id"),
    # An entry is reversed at most once; only reversals are in the index (0013).
    sa.Index(
        "uq_ledger_entries_reversal_of", "reversal_of", unique=True, postgresql_where=sa.text("reversal_of IS NOT NULL")
    ),
)

patient_payments = sa.Table(
    "patient_payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("request_fingerprint", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.CheckConstraint("amount_cents > 0", name="positive"),
    sa.Index("ix_patient_payments_patient", "tenant_id", "patient_id"),
)

payment_plans = sa.Table(
    "payment_plans",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("total_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("installments", JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("status IN ('active', 'cancelled')", name="status"),
    sa.Index(
        "uq_payment_plans_active",
        "tenant_id",
        "patient_id",
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    ),
)

inbound_files = sa.Table(
    "inbound_files",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("byte_count", sa.BigInteger, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text, nullable=True, comment="Null when the file could not be given to a tenant."),
    sa.Column("remittance_id", sa.Uuid, sa.ForeignKey("remittance.remittance_files.id"), nullable=True),
    sa.Column("rejection", JSONB, nullable=True, comment="Reason, segment id and position; never file content."),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("file_name", "content_sha256"),
    sa.CheckConstraint("state IN ('posted', 'rejected')", name="state"),
    sa.CheckConstraint("(state = 'posted') = (remittance_id IS NOT NULL)", name="posted"),
    sa.Index("ix_inbound_files_tenant", "tenant_id", "processed_at"),
    comment="835 files collected from the clearinghouse inbound box: posted, or rejected with the reason. "
    "One row per file name and content, so a file read again after a crash records nothing new.",
)

denial_adjustments = sa.Table(
    "denial_adjustments",
    metadata,
    sa.Column("action_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Uuid, nullable=False),
    sa.Column("claim_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason_code", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    comment="One row per denials action: the ledger entries it posted carry source keys denial-action:<id>:*.",
)

patient_accounts = sa.Table(
    "patient_accounts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("patient_id", sa.Uuid, primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    comment="The patients remittance knows (from claim-submitted), each account kept in one currency.",
)

refund_items = sa.Table(
    "refund_items",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Uuid, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("credit_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("resolution_reason", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.Text, nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'refunded', 'dismissed', 'cleared')", name="status"),
    sa.CheckConstraint("credit_cents > 0", name="positive"),
    sa.Index("uq_refund_items_open", "tenant_id", "claim_id", unique=True, postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_refund_items_tenant", "tenant_id", "status", "opened_at", "id"),
    comment="Claims paid beyond what was owed (a credit balance): a refund work item until a person resolves it.",
)

idempotency_keys = idempotency_table(metadata)
