"""Tables of the notifications schema."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "notifications"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

# The tenant's event feed: what webhooks, statements and alerts are built from.
activity = sa.Table(
    "activity",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_activity_tenant_subject", "tenant_id", "subject"),
)
