"""DDL of the outbox and inbox, frozen per version so old migrations keep meaning what they meant."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB

from shared.messaging.tables import notify_trigger_sql


def create_messaging_tables_v1(schema: str) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], schema=schema, postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("consumer_group", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer_group", name="pk_inbox"),
        schema=schema,
    )
    for statement in notify_trigger_sql(schema):
        op.execute(statement)


def drop_messaging_tables_v1(schema: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS outbox_notify ON {schema}.outbox")
    op.execute(f"DROP FUNCTION IF EXISTS {schema}.outbox_notify()")
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)


def outbox_envelope_as_json_v2(schema: str) -> None:
    """The outbox's `envelope` as JSON (text as written) instead of JSONB.

    The envelope is written once and read whole by the relay, which never queries inside it: JSONB made Postgres
    parse every envelope into its binary form on insert and print it back to text on every claim, and the relay's
    mark rewrote a PHI envelope with `jsonb_set` (the relay now hands the mark the emptied envelope itself).
    Rewrites the outbox (ALTER COLUMN ... TYPE takes an exclusive lock for the rewrite)."""
    op.alter_column(
        "outbox", "envelope", type_=JSON(), existing_type=JSONB(), schema=schema, postgresql_using="envelope::json"
    )


def outbox_envelope_as_jsonb_v1(schema: str) -> None:
    """Undo `outbox_envelope_as_json_v2`."""
    op.alter_column(
        "outbox", "envelope", type_=JSONB(), existing_type=JSON(), schema=schema, postgresql_using="envelope::jsonb"
    )
