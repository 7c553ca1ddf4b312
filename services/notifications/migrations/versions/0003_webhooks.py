"""Webhook subscriptions, deliveries and attempts; claim states, dead-letter marks and ops alerts.

Revision ID: 0003_webhooks
Revises: 0002_statements
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_webhooks"
down_revision = "0002_statements"
SCHEMA = "notifications"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        comment="A hospital system's endpoint and the event types it takes.",
        schema=SCHEMA,
    )
    op.create_index("ix_webhook_subscriptions_tenant", "webhook_subscriptions", ["tenant_id"], schema=SCHEMA)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("webhook_id", sa.Text, nullable=False, comment="`webhook-id`: stable per event and subscription."),
        sa.Column(
            "body", sa.Text, nullable=False, comment="The thin JSON payload, sent byte for byte on every attempt."
        ),
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
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            [f"{SCHEMA}.webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_id_event_id"),
        comment="One event for one subscription (written in the consumer's transaction, outbox-style).",
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_subscription",
        "webhook_deliveries",
        ["tenant_id", "subscription_id", "created_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("delivery_id", sa.Uuid, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, comment="Why no answer came (error class), never the receiver's body."),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            [f"{SCHEMA}.webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
        comment="The delivery log: each HTTP attempt, its status code and timing.",
        schema=SCHEMA,
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id"], schema=SCHEMA)
    op.create_table(
        "claim_states",
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name="pk_claim_states"),
        comment="Each claim's latest state as the events tell it, for the stuck-claims alert.",
        schema=SCHEMA,
    )
    op.create_index("ix_claim_states_state_since", "claim_states", ["state", "since"], schema=SCHEMA)
    op.create_table(
        "dead_letter_marks",
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("end_offset", sa.BigInteger, nullable=False, comment="Sum of the dead-letter topic's end offsets."),
        sa.Column("advanced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", name="pk_dead_letter_marks"),
        comment="How far each dead-letter topic had grown when last looked at, and when it last grew.",
        schema=SCHEMA,
    )
    op.create_table(
        "ops_alerts",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("firing", sa.Boolean, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("first_fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_notified_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("key", name="pk_ops_alerts"),
        comment="Ops alerts firing or resolved, so notices are rate-limited across restarts and replicas.",
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "ops_alerts",
        "dead_letter_marks",
        "claim_states",
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_subscriptions",
    ):
        op.drop_table(table, schema=SCHEMA)
