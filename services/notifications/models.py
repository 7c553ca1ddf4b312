"""Tables of the notifications schema."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "notifications"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_activity_tenant_subject", "tenant_id", "subject"),
    comment="The tenant's event feed: what webhooks, statements and alerts are built from.",
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
