"""DDL of the outbox and inbox, frozen per version so old migrations keep meaning what they meant."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB

from shared.messaging.tables import OUTBOX_FILLFACTOR, notify_trigger_sql


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


def slim_outbox_v2(schema: str) -> None:
    """Cheaper outbox rows: `envelope` as JSON (text as written) instead of JSONB, no unique index on `event_id`,
    and room on each page for the row's mark.

    The envelope is written once and read whole by the relay, which never queries inside it: JSONB made Postgres
    parse every envelope into its binary form on insert and print it back to text on every claim, and the relay's
    mark rewrote a PHI envelope with `jsonb_set` (the relay now hands the mark the emptied envelope itself).
    `event_id` is a random uuid4 that nothing looks rows up by: its unique index took a btree insert at a random
    leaf on every insert and again on every mark (an update that changes `published_at`, which
    `ix_outbox_unpublished`'s predicate reads, can never be HOT), each leaf's first change after a checkpoint a
    full-page image, a cost that grows with the table. Consumers' inboxes de-duplicate by event id.
    Leaves half of each page free for the mark's new version (`OUTBOX_FILLFACTOR`). Rewrites the outbox (ALTER
    COLUMN ... TYPE takes an exclusive lock for the rewrite), with the new fillfactor."""
    op.drop_constraint("uq_outbox_event_id", "outbox", schema=schema, type_="unique")
    op.execute(f"ALTER TABLE {schema}.outbox SET (fillfactor = {OUTBOX_FILLFACTOR})")
    op.alter_column(
        "outbox", "envelope", type_=JSON(), existing_type=JSONB(), schema=schema, postgresql_using="envelope::json"
    )


def unslim_outbox_v1(schema: str) -> None:
    """Undo `slim_outbox_v2`."""
    op.execute(f"ALTER TABLE {schema}.outbox RESET (fillfactor)")
    op.alter_column(
        "outbox", "envelope", type_=JSONB(), existing_type=JSON(), schema=schema, postgresql_using="envelope::jsonb"
    )
    op.create_unique_constraint("uq_outbox_event_id", "outbox", ["event_id"], schema=schema)


def split_outbox_payload_v3(schema: str) -> None:
    """The payload in a column of its own, the row's last (`payload`), and whether it is emptied once published
    (`phi`), so that the relay claims and marks a batch in one statement whose new row versions differ from the old
    in their tail alone (`shared.messaging.relay.claim_and_mark`). Both columns are added without a rewrite; rows
    already written keep their data in the envelope (`payload` NULL), which the relay reads and empties as before,
    as it does rows a writer of the version before still adds. A relay of the version before refuses rows written
    since (their envelope has no `data`, so its decode fails before the batch is handed to Kafka): during
    a rolling upgrade no event goes out without its payload, and those rows wait for a relay of this version to lead."""
    op.add_column("outbox", sa.Column("phi", sa.Boolean, server_default=sa.false(), nullable=False), schema=schema)
    op.add_column("outbox", sa.Column("payload", JSON()), schema=schema)


def unsplit_outbox_payload_v2(schema: str) -> None:
    """Undo `split_outbox_payload_v3`: each payload goes back into its envelope (as `data`), where the relay before
    the split reads it; a published PHI row's emptied payload goes back as `{}`."""
    op.execute(
        f"UPDATE {schema}.outbox SET envelope = CAST(CAST(envelope AS jsonb) || "  # noqa: S608
        "jsonb_build_object('data', CAST(payload AS jsonb)) AS json) WHERE payload IS NOT NULL"
    )
    op.drop_column("outbox", "payload", schema=schema)
    op.drop_column("outbox", "phi", schema=schema)
