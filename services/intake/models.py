"""Tables of the intake schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "intake"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

encounters = sa.Table(
    "encounters",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("external_encounter_id", sa.Text, nullable=False),
    sa.Column("claim_type", sa.Text, nullable=False),
    sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("coding", JSONB, nullable=False, comment="patient, payer, provider ids, diagnoses and lines"),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "external_encounter_id"),
)
