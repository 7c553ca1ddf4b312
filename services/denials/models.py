"""Tables of the denials schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from shared.db import service_metadata
from shared.messaging.tables import messaging_tables

SCHEMA = "denials"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

denial_cases = sa.Table(
    "denial_cases",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("claim_control_number", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("trace_number", sa.Text, nullable=False),
    sa.Column("denial", sa.Text, nullable=False),
    sa.Column("denied_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("carcs", ARRAY(sa.Text), nullable=False),
    sa.Column("rarcs", ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "claim_control_number", "trace_number", name="uq_denial_cases_tenant_id"),
)
