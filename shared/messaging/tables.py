"""Outbox and inbox tables, created in every service's own schema by its first migration."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON

OUTBOX_FILLFACTOR = 50
"""Half of each outbox page is left free at insert for the row's one update, the relay's mark: the new version goes
on the same page, whose WAL record then holds only the bytes that changed (not the whole envelope again): the
publication time and, for a PHI event, its emptied payload, the row's last column. The mark is never HOT
(`published_at` is in `ix_outbox_unpublished`'s predicate), so this is about the WAL, not the indexes: measured by
bench/outbox_sql.py, 906 -> 224 B per mark for a claim-status event."""


@dataclass(frozen=True, slots=True)
class MessagingTables:
    outbox: sa.Table
    inbox: sa.Table


def messaging_tables(metadata: sa.MetaData) -> MessagingTables:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "event_id", sa.Uuid, nullable=False, doc="time-ordered (uuid7): consumers' inboxes key on it, nothing here"
        ),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column(
            "envelope",
            JSON,
            nullable=False,
            doc="ce attributes and trace context (with the data too in rows written before `payload`): JSON text as "
            "written, read whole by the relay",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column(
            "phi",
            sa.Boolean,
            nullable=False,
            server_default=sa.false(),
            doc="the payload is emptied when the row is published (`emptied_once_published`)",
        ),
        sa.Column(
            "payload",
            JSON,
            doc="the event's data, JSON text as written; last, so the mark rewrites only the row's tail; NULL: inside "
            "the envelope (rows written before this column)",
        ),
        sa.Index("ix_outbox_unpublished", "id", postgresql_where=sa.text("published_at IS NULL")),
        info={"fillfactor": OUTBOX_FILLFACTOR},  # set by the migrations (`slim_outbox_v2`): not a SQLAlchemy option
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("consumer_group", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)


def notify_trigger_sql(schema: str) -> list[str]:
    """Statement-level trigger that wakes the relay (LISTEN `<schema>_outbox`) when rows are inserted."""
    channel = f"{schema}_outbox"
    return [
        f"""
        CREATE OR REPLACE FUNCTION {schema}.outbox_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_notify()
        """,
    ]


def outbox_channel(schema: str) -> str:
    return f"{schema}_outbox"
