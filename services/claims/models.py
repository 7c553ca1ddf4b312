"""Tables of the claims schema."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "claims"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

claims = sa.Table(
    "claims",
    metadata,
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
    sa.UniqueConstraint("tenant_id", "encounter_id"),
)
