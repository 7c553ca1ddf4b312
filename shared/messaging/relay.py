"""The outbox relay: publishes committed outbox rows to Kafka in order, then marks them.

A crash between send and mark re-sends those rows; consumers' inboxes make that harmless. Marking a row
empties a payload that carries a `phi` block, so `encounter-coded` rows keep no PHI once published. One relay
per schema is active at a time (an advisory lock), so per-key order holds across replicas.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.messaging.outbox import stored_to_kafka, wire_columns
from shared.messaging.publisher import KafkaPublisher, KafkaUnavailable, OutgoingMessage
from shared.messaging.tables import outbox_channel
from shared.telemetry.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0
BACKLOG_EVERY_S = 1.0
"""How often the backlog gauges are refreshed, busy or idle."""


def leader_lock_key(schema: str) -> str:
    """The advisory lock (`hashtext` of this) whose holder is the schema's one relay leader."""
    return f"claimflow-relay-{schema}"


def libpq_url(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def without_phi(envelope: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A published row keeps no PHI: a payload with a `phi` block (`encounter-coded`: demographics, member
    ids, tax ids) is emptied; the row keeps its ce attributes."""
    return sa.case(
        (
            envelope["data"].has_key("phi"),
            sa.func.jsonb_set(envelope, sa.literal(["data"], type_=ARRAY(sa.Text)), sa.text("'{}'::jsonb")),
        ),
        else_=envelope,
    )


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        outbox: sa.Table,
        publisher: KafkaPublisher,
        batch_size: int,
        poll_interval_s: float,
    ) -> None:
        self._service = service
        self._engine = engine
        self._outbox = outbox
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self.is_leader = False
        table = f'"{outbox.schema}"."{outbox.name}"'
        self._pending_sql = f"SELECT EXISTS (SELECT FROM {table} WHERE published_at IS NULL)"  # noqa: S608
        self._backlog_sql = f"SELECT count(*), min(created_at) FROM {table} WHERE published_at IS NULL"  # noqa: S608

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, sa.exc.DBAPIError, KafkaUnavailable, TimeoutError) as exc:
                log.warning("outbox relay paused", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.is_leader = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _run_as_leader(self) -> None:
        listener = await asyncpg.connect(libpq_url(self._engine))
        try:
            lock_key = leader_lock_key(str(self._outbox.schema))
            while not await listener.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
                await asyncio.sleep(self._poll_interval_s)
            self.is_leader = True
            await listener.add_listener(outbox_channel(str(self._outbox.schema)), self._on_notify)
            observed_at = -BACKLOG_EVERY_S
            while True:
                self._wake.clear()
                published = await self.publish_batch()
                if time.monotonic() - observed_at >= BACKLOG_EVERY_S:
                    await self._observe_backlog(listener)
                    observed_at = time.monotonic()
                if published < self._batch_size:
                    await self._await_rows(listener)
        finally:
            self.is_leader = False
            await asyncio.shield(listener.close(timeout=5))

    async def _await_rows(self, listener: asyncpg.Connection) -> None:
        """Until a NOTIFY says rows were added, or a poll finds unpublished ones (a notification can be missed
        across a reconnect). The poll is one EXISTS on the listener's connection: an idle relay costs no
        batch transaction every interval."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                return
            except TimeoutError:
                if await listener.fetchval(self._pending_sql):
                    return

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish one batch in id order and mark it, in one transaction holding the rows' locks.

        The payload is read as the text Postgres writes (already the Kafka value), the whole batch is handed
        to the producer before any acknowledgement is awaited, and the rows are marked in one statement."""
        table = self._outbox
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(table.c.id, table.c.topic, *wire_columns(table))
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            messages = []
            for _, topic, attributes, data in rows:
                key, value, headers = stored_to_kafka(attributes, data)
                messages.append(OutgoingMessage(topic=topic, key=key, value=value, headers=headers))
            await self._publisher.publish(messages)
            ids = [row[0] for row in rows]
            await conn.execute(
                sa.update(table)
                .where(table.c.id == sa.any_(sa.literal(ids, ARRAY(sa.BigInteger))))
                .values(published_at=sa.func.now(), envelope=without_phi(table.c.envelope))
            )
        for topic, count in Counter(message.topic for message in messages).items():
            EVENTS_PUBLISHED.labels(self._service, topic).inc(count)
        return len(rows)

    async def _observe_backlog(self, listener: asyncpg.Connection) -> None:
        count, oldest = await listener.fetchrow(self._backlog_sql)
        OUTBOX_BACKLOG.labels(self._service).set(count)
        age = 0.0 if oldest is None else max(0.0, time.time() - oldest.timestamp())
        OUTBOX_OLDEST_AGE.labels(self._service).set(age)
