"""Tables of the notifications schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.idempotency import idempotency_table
from shared.messaging.tables import messaging_tables
from shared.phi.access import phi_access_table
from shared.phi.keys import phi_keys_table

SCHEMA = "notifications"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
phi_keys = phi_keys_table(metadata)
phi_access = phi_access_table(metadata)

# The tenant's event feed: what webhooks, statements and alerts are built from.
activity = sa.Table(
    "activity",
    metadata,
    sa.Column(
        "event_id",
        sa.Text,
        nullable=False,
        doc="one row per event through the consumer's inbox (written in the transaction that inserts the event into "
        "the notifications group's inbox, only when that insert is new); no key or index of its own (0009): nothing "
        "reads the feed by event id",
    ),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_activity_tenant_subject", "tenant_id", "subject"),
)


# --- patient statements -------------------------------------------------------------------------
# Each patient's statement ledger, built from the events notifications consumes (it reads no other
# service's schema), the statements sent and the print batches they went out in.

statement_patients = sa.Table(
    "statement_patients",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("patient_id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, comment="PHI in plaintext: only rows stored before 0006 (until encrypt-existing)."),
    sa.Column("address_lines", JSONB(none_as_null=True), comment="PHI in plaintext: only rows stored before 0006."),
    sa.Column("delivery", sa.Text, comment="email | paper | none (opted out); unset means paper."),
    sa.Column("email", sa.Text, comment="PHI in plaintext: only rows stored before 0006."),
    sa.Column(
        "mailing_phi",
        sa.LargeBinary,
        comment="Sealed (shared.phi): the name and mailing address the statement prints, from encounter-coded.",
    ),
    sa.Column("email_phi", sa.LargeBinary, comment="Sealed (shared.phi): where statement notices go by email."),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("delivery IN ('email', 'paper', 'none')", name="delivery"),
    comment="Only what a statement prints or needs to reach the patient; never logged.",
)

statement_encounters = sa.Table(
    "statement_encounters",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("encounter_id", sa.Uuid, primary_key=True),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("service_date", sa.Date, nullable=False),
    sa.Column(
        "expects_secondary", sa.Boolean, nullable=False, comment="A secondary payer is billed after the primary."
    ),
)

statement_claims = sa.Table(
    "statement_claims",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("claim_id", sa.Uuid, primary_key=True),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("encounter_id", sa.Uuid, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("procedure_codes", JSONB, nullable=False),
    sa.Index("ix_statement_claims_patient", "tenant_id", "patient_id"),
)

statement_adjudications = sa.Table(
    "statement_adjudications",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Uuid, nullable=False),
    sa.Column("charge_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_cents", sa.BigInteger, nullable=False),
    sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
    sa.Column("next_responsible", sa.Text, nullable=False),
    sa.Column("paid_date", sa.Date, nullable=False),
    sa.Column("reversal_of", sa.Uuid),
    sa.Index("ix_statement_adjudications_claim", "tenant_id", "claim_id"),
)

statement_patient_payments = sa.Table(
    "statement_patient_payments",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Index("ix_statement_patient_payments_patient", "tenant_id", "patient_id"),
)

statement_payment_plans = sa.Table(
    "statement_payment_plans",
    metadata,
    sa.Column("plan_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("installments", JSONB, nullable=False),
    sa.Column("changed_on", sa.Date, nullable=False),
    sa.Index("ix_statement_payment_plans_patient", "tenant_id", "patient_id"),
)

statement_number_seq = sa.Sequence("statement_number_seq", metadata=metadata)

print_batches = sa.Table(
    "print_batches",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("run_on", sa.Date, nullable=False),
    sa.Column("statement_count", sa.Integer, nullable=False),
    sa.Column("pdf", sa.LargeBinary, nullable=False, comment="Sealed (shared.phi); plaintext (%PDF) before 0006."),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    comment="One PDF per mailing run: every paper statement of the run, each starting on a new page.",
)

statements = sa.Table(
    "statements",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("statement_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("balance_cents", sa.BigInteger, nullable=False),
    sa.Column("amount_due_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column(
        "document", JSONB(none_as_null=True), comment="Plaintext StatementDocument: only rows stored before 0006."
    ),
    sa.Column("text", sa.Text, comment="Plaintext rendering: only rows stored before 0006."),
    sa.Column(
        "phi",
        sa.LargeBinary,
        comment="Sealed (shared.phi): the StatementDocument every rendering comes from and its text rendering.",
    ),
    sa.Column("pdf", sa.LargeBinary, nullable=False, comment="Sealed (shared.phi); plaintext (%PDF) before 0006."),
    sa.Column("delivery", sa.Text, nullable=False),
    sa.Column("delivery_status", sa.Text, nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("print_batch_id", sa.Uuid, sa.ForeignKey(print_batches.c.id)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "patient_id", "cycle", name="uq_statements_patient_cycle"),
    sa.CheckConstraint("delivery IN ('email', 'paper', 'none')", name="delivery"),
    sa.CheckConstraint(
        "delivery_status IN ('pending', 'sent', 'printed', 'opted_out', 'undeliverable')", name="status"
    ),
    sa.Index("ix_statements_tenant_patient", "tenant_id", "patient_id"),
    sa.Index("ix_statements_pending_email", "delivery_status", postgresql_where=sa.text("delivery_status = 'pending'")),
    comment="One statement per patient per cycle (unique): never sent twice for the same cycle.",
)

statement_payments = sa.Table(
    "statement_payments",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True, comment="Chosen when the page rendered: a resubmit is a no-op."),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("statement_id", sa.Uuid, sa.ForeignKey(statements.c.id), nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("amount_cents > 0", name="positive"),
    comment="Payments recorded on the statement page, sent to remittance as patient-payment-submitted.",
)

# --- webhooks and ops alerts (issue 8, items 4-5) ------------------------------------------------

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("event_types", sa.ARRAY(sa.Text), nullable=False, comment="Empty: every event type."),
    sa.Column("secret_sealed", sa.LargeBinary, nullable=False, comment="AES-256-GCM nonce + ciphertext."),
    sa.Column("previous_secret_sealed", sa.LargeBinary),
    sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True)),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("failing_since", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_webhook_subscriptions_tenant", "tenant_id"),
    comment="A hospital system's endpoint and the event types it takes.",
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column(
        "subscription_id", sa.Uuid, sa.ForeignKey(webhook_subscriptions.c.id, ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("webhook_id", sa.Text, nullable=False, comment="`webhook-id`: stable per event and subscription."),
    sa.Column("body", sa.Text, nullable=False, comment="The thin JSON payload, sent byte for byte on every attempt."),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, comment="Every attempt made, re-sends included."),
    sa.Column("schedule_attempts", sa.Integer, nullable=False, comment="Attempts of the current retry schedule."),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_duration_ms", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("subscription_id", "event_id"),
    sa.Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
    sa.Index("ix_webhook_deliveries_tenant_subscription", "tenant_id", "subscription_id", "created_at"),
    comment="One event for one subscription (written in the consumer's transaction, outbox-style).",
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.Uuid, sa.ForeignKey(webhook_deliveries.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, comment="Why no answer came (error class), never the receiver's body."),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id"),
    comment="The delivery log: each HTTP attempt, its status code and timing.",
)

claim_states = sa.Table(
    "claim_states",
    metadata,
    sa.Column("claim_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_claim_states_state_since", "state", "since"),
    comment="Each claim's latest state as the events tell it, for the stuck-claims alert.",
)

dead_letter_marks = sa.Table(
    "dead_letter_marks",
    metadata,
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("end_offset", sa.BigInteger, nullable=False, comment="Sum of the dead-letter topic's end offsets."),
    sa.Column("advanced_at", sa.DateTime(timezone=True), nullable=False),
    comment="How far each dead-letter topic had grown when last looked at, and when it last grew.",
)

ops_alerts = sa.Table(
    "ops_alerts",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("firing", sa.Boolean, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("first_fired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_notified_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    comment="Ops alerts firing or resolved, so notices are rate-limited across restarts and replicas.",
)

idempotency_keys = idempotency_table(metadata)
