"""Tables of the remittance schema."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "remittance"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

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
    sa.UniqueConstraint("tenant_id", "claim_control_number"),
    comment="Claims awaiting remittance: what an 835's CLP01 is matched against.",
)
