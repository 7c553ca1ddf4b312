"""The outbox relay: publishes committed outbox rows to Kafka in order, then marks them.

A crash between send and mark re-sends those rows; consumers' inboxes make that harmless. Marking a row
empties a payload that carries a `phi` block, so `encounter-coded` rows keep no PHI once published. One relay
per schema is active at a time (an advisory lock), so per-key order holds across replicas.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events.envelope import to_kafka
from shared.messaging.outbox import row_to_envelope
from shared.messaging.publisher import KafkaPublisher, KafkaUnavailable, OutgoingMessage
from shared.messaging.tables import outbox_channel
from shared.telemetry.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0


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
            lock_key = f"claimflow-relay-{self._outbox.schema}"
            while not await listener.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
                await asyncio.sleep(self._poll_interval_s)
            self.is_leader = True
            await listener.add_listener(outbox_channel(str(self._outbox.schema)), self._on_notify)
            while True:
                self._wake.clear()
                published = await self.publish_batch()
                if published < self._batch_size:
                    await self._observe_backlog()
                    try:
                        await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                    except TimeoutError:
                        pass
        finally:
            self.is_leader = False
            await asyncio.shield(listener.close(timeout=5))

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish one batch in id order and mark it, in one transaction holding the rows' locks."""
        table = self._outbox
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(table.c.id, table.c.topic, table.c.envelope)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            messages = []
            for row in rows:
                key, value, headers = to_kafka(row_to_envelope(row.envelope))
                messages.append(OutgoingMessage(topic=row.topic, key=key, value=value, headers=headers))
            await self._publisher.publish(messages)
            await conn.execute(
                sa.update(table)
                .where(table.c.id.in_([row.id for row in rows]))
                .values(published_at=sa.func.now(), envelope=without_phi(table.c.envelope))
            )
        for message in messages:
            EVENTS_PUBLISHED.labels(self._service, message.topic).inc()
        return len(rows)

    async def _observe_backlog(self) -> None:
        table = self._outbox
        async with self._engine.connect() as conn:
            count, oldest = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(table.c.published_at.is_(None))
                )
            ).one()
        OUTBOX_BACKLOG.labels(self._service).set(count)
        age = 0.0 if oldest is None else max(0.0, time.time() - oldest.timestamp())
        OUTBOX_OLDEST_AGE.labels(self._service).set(age)
