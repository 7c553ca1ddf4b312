"""The outbox relay: publishes committed outbox rows to Kafka in order, and marks them published.

A batch is claimed and marked by one statement in its own transaction, which commits once Kafka has acknowledged
the batch (and rolls back, leaving the rows unpublished, if it does not). A crash between send and commit re-sends
those rows; consumers' inboxes make that harmless. Marking a row empties the payload of an event type with `x-phi`
fields (or any payload with a `phi` block), so outbox rows keep no PHI once published. One relay per schema is
active at a time (an advisory lock), so per-key order holds across replicas.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import AsyncpgStatement
from shared.messaging.outbox import (
    StoredWire,
    decode_stored,
    emptied_once_published,
    emptied_stored,
    kafka_record,
)
from shared.messaging.publisher import KafkaPublisher, KafkaUnavailable, OutgoingMessage
from shared.messaging.tables import outbox_channel
from shared.telemetry.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0
BATCH_CONNECTIONS = 3
"""The leader's own connections for its batch transactions: three batches are open at a time (`publish_backlog`)."""
BACKLOG_BATCHES = 4
"""While its batches come back full (a backlog), the relay doubles the next claim, up to this many times its batch
size (`relay_batch_size`); a short batch brings it back to the batch size. Per batch the relay pays three round trips
to Postgres (begin, claim and mark, commit, with the commit's WAL flush), a produce request per broker and the
acknowledgements' wake-ups: over a backlog, fewer and larger batches spend less of each per event, while a relay
that keeps up still hands over small batches at once."""
BACKLOG_EVERY_S = 1.0
"""How often the backlog gauges are refreshed, busy or idle."""


def leader_lock_key(schema: str) -> str:
    """The advisory lock (`hashtext` of this) whose holder is the schema's one relay leader."""
    return f"claimflow-relay-{schema}"


def libpq_url(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def quoted_name(outbox: sa.Table) -> str:
    """The outbox table's name as the relay's statements write it: quoted, with its schema."""
    return f'"{outbox.schema}"."{outbox.name}"' if outbox.schema else f'"{outbox.name}"'


def published_stored(event_type: str, stored: StoredWire) -> str | None:
    """What a published row's envelope becomes, for a row written before the payload had a column of its own (its
    `data` inside the envelope), from the envelope the relay decoded once for its Kafka record: its payload emptied
    for an event type with `x-phi` fields or a payload with a `phi` block (the row keeps its ce attributes); None when
    it stays as stored. The relay computes it beside the Kafka record, so Postgres only writes text (it never parses
    an envelope)."""
    if emptied_once_published(event_type, bytes(stored.data)):
        return emptied_stored(stored)
    return None


CLAIM_SETTINGS = {"enable_bitmapscan": "off", "enable_seqscan": "off"}
"""The relay's batch connections (its own three, running only the claim) read the unpublished rows through
`ix_outbox_unpublished`, in id order.

`FOR UPDATE SKIP LOCKED` puts the row locking between the sort and the LIMIT, so a plan that does not read the
index in order (a bitmap or sequential scan, which the planner picks whenever its statistics undercount the
backlog: a fresh or freshly filled outbox) sorts the whole backlog, envelopes and all, spilling to disk, for every
batch: measured 0.5-1 s per 500 rows at a 10,000-row backlog, against 3 ms through the index. The update finds the
claimed rows by primary key either way. Set once per connection (not per transaction: a round trip less per batch)."""

BY_UNPUBLISHED_INDEX = sa.text(
    "SELECT " + ", ".join(f"set_config('{name}', '{value}', true)" for name, value in CLAIM_SETTINGS.items())
)
"""`CLAIM_SETTINGS` for one transaction only (tests explain the claim on a pooled session with it)."""


def claim_and_mark(outbox: sa.Table) -> AsyncpgStatement:
    """Claim the next unpublished rows and mark them published, in one statement, in the relay's open transaction
    (committed once Kafka has acknowledged them): at most `limit` rows in id order after id `after`, locked, skipping
    rows another transaction holds (`FOR UPDATE SKIP LOCKED`). Returns each row's id, topic, event type, envelope
    and payload as they were before the mark, as the JSON text written (no conversion: `decode_stored` takes them;
    casting through jsonb, as the relay did while the column was JSONB, costs a parse per row: 12 -> 36 µs of
    Postgres CPU per event for claim + mark), in no set order: the caller sorts them by id.

    The mark sets `published_at` and empties the payload of a row written with `phi` (`emptied_once_published`). A
    row's payload is its last column: the new row version differs from the old in its tail alone (the time, and an
    empty payload for PHI), and on the same page (`OUTBOX_FILLFACTOR`) its WAL record holds only that. Claiming and
    marking in one statement also saves a round trip per batch, and the relay's Python no longer builds the emptied
    envelope of each PHI row nor hands Postgres an array of them to parse (measured by bench/outbox_sql.py). A row
    written before the split (`payload` NULL: the data inside its envelope) is marked here too; its envelope is
    emptied by `empty_envelopes`, in the same transaction.

    `after` is the last id of the batch claimed before it in the same round (`publish_backlog`): that batch and the
    one before it are still locked by the relay's own open transactions, and without the bound each claim read
    their rows first and skipped them one by one (up to twice a batch of rows visited, lock-tested and skipped per
    claim). An unpublished row below `after` that the bound passes over is one committed after the earlier claim
    read the outbox (ids are taken at insert, rows commit in any order): the next round, which starts from 0, takes
    it."""
    table = quoted_name(outbox)
    sql = (
        f"UPDATE {table} AS outbox SET published_at = now(), "  # noqa: S608
        "payload = CASE WHEN outbox.phi THEN '{}'::json ELSE outbox.payload END "
        f"FROM (SELECT id FROM {table} WHERE published_at IS NULL AND id > $1::bigint ORDER BY id "
        "LIMIT $2::integer FOR UPDATE SKIP LOCKED) AS batch WHERE outbox.id = batch.id "
        "RETURNING outbox.id, outbox.topic, outbox.event_type, CAST(old.envelope AS text), CAST(old.payload AS text)"
    )
    return AsyncpgStatement(sql, ("after", "limit"), {})


def empty_envelopes(outbox: sa.Table) -> AsyncpgStatement:
    """Give rows (`ids`) the envelopes they keep once published (`envelopes`, aligned with `ids`: `published_stored`
    of each): rows written before the payload had its own column, whose PHI payload is inside the envelope."""
    table = quoted_name(outbox)
    sql = (
        f"UPDATE {table} AS outbox SET envelope = batch.envelope "  # noqa: S608
        "FROM unnest($1::bigint[], $2::json[]) AS batch(id, envelope) WHERE outbox.id = batch.id"
    )
    return AsyncpgStatement(sql, ("ids", "envelopes"), {})


def pending_sql(outbox: sa.Table) -> str:
    """Whether any row is unpublished: the relay's poll, on its listener connection."""
    return f"SELECT EXISTS (SELECT FROM {quoted_name(outbox)} WHERE published_at IS NULL)"  # noqa: S608


BACKLOG_COUNTED = 10_000
"""Up to this many unpublished rows the backlog gauge is their exact count; beyond it, the span of their ids (first
to last), which is never less than the count and equals it while the relay publishes in id order. The count of a
backlog of any size would read the whole backlog every second: its cost grew with the backlog it reports (18% of
Postgres's statement time in a 100,000-encounter run whose intake outbox fell behind)."""


def backlog_sql(outbox: sa.Table, counted: int = BACKLOG_COUNTED) -> str:
    """For the backlog gauges (every second), on the listener: the first unpublished row's time, the unpublished
    rows counted up to `counted` + 1, the first and the last unpublished id. No row: nothing unpublished. Each part
    reads at most `counted` + 1 entries of `ix_outbox_unpublished`, whatever the size of the backlog."""
    table = quoted_name(outbox)
    return (
        "SELECT first.created_at, "  # noqa: S608
        f"(SELECT count(*) FROM (SELECT FROM {table} WHERE published_at IS NULL LIMIT {counted + 1}) AS counted), "
        f"first.id, (SELECT max(id) FROM {table} WHERE published_at IS NULL) "
        f"FROM (SELECT id, created_at FROM {table} WHERE published_at IS NULL ORDER BY id LIMIT 1) AS first"
    )


def backlog_size(counted_rows: int, first_id: int, last_id: int, counted: int = BACKLOG_COUNTED) -> int:
    """The backlog gauge's value: the exact count up to `counted`, else the span of the unpublished ids."""
    if counted_rows <= counted:
        return counted_rows
    return max(counted_rows, last_id - first_id + 1)


LISTENER_SETTINGS = {"enable_seqscan": "off", "enable_bitmapscan": "off", "max_parallel_workers_per_gather": "0"}
"""The relay's listener connection (its own, running only `pending_sql` and `backlog_sql`) reads the unpublished
rows through `ix_outbox_unpublished` by one plain index scan, in this process.

With statistics that count many rows unpublished (taken during a burst) the planner scans the table for them,
whose published rows come first, so the poll read the whole outbox (10 ms at 10,000 rows, growing with the
table). With the same statistics it ran the backlog's count (every second) as a parallel index scan: two
worker processes started for each count, whose share of the index started over the entries of the rows published
since the last vacuum (measured on 100,000 rows, 99,500 published: 17-20 ms for the parallel count against
0.8 ms for the plain index scan, which marks those entries dead as it passes and skips their heap pages after).
A bitmap scan never marks them. The relay still polls only when no NOTIFY came in its interval, not after every
round."""


@dataclass(slots=True)
class _Claimed:
    """A batch of outbox rows claimed and marked by `conn`'s open transaction, and their Kafka records."""

    conn: asyncpg.Connection
    limit: int
    """The claim's limit: a batch of fewer rows drained the outbox (as far as this transaction could see)."""
    ids: list[int]
    messages: list[OutgoingMessage]


async def _release(conn: asyncpg.Connection) -> None:
    """Roll back what is still open on one of the relay's batch connections (a closed one stays closed)."""
    if not conn.is_closed() and conn.is_in_transaction():
        await conn.execute("ROLLBACK")


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
        self._drained = False
        """Whether the last `publish_backlog` stopped at a short batch (rather than at its time limit)."""
        self._pending_sql = pending_sql(outbox)
        self._backlog_sql = backlog_sql(outbox)
        self._claim_statement = claim_and_mark(outbox)
        self._empty_statement = empty_envelopes(outbox)
        self._connections: tuple[asyncpg.Connection, ...] | None = None
        """The batch connections while leader (`BATCH_CONNECTIONS`): batch k+2 is claimed on one while batch k is
        marked on another and batch k+1, acknowledgements pending, is open on the third."""

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except (
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                sa.exc.DBAPIError,
                KafkaUnavailable,
                TimeoutError,
            ) as exc:
                log.warning("outbox relay paused", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.is_leader = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _run_as_leader(self) -> None:
        listener = await asyncpg.connect(libpq_url(self._engine), server_settings=LISTENER_SETTINGS)
        opened: list[asyncpg.Connection] = []  # closed at the end even when the second one fails to open
        try:
            lock_key = leader_lock_key(str(self._outbox.schema))
            while not await listener.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
                await asyncio.sleep(self._poll_interval_s)
            self.is_leader = True
            await listener.add_listener(outbox_channel(str(self._outbox.schema)), self._on_notify)
            for _ in range(BATCH_CONNECTIONS):
                opened.append(await self._batch_connection())
            self._connections = tuple(opened)
            observed_at = -BACKLOG_EVERY_S
            while True:
                self._wake.clear()
                await self.publish_backlog(until=time.monotonic() + BACKLOG_EVERY_S)
                if time.monotonic() - observed_at >= BACKLOG_EVERY_S:
                    await self._observe_backlog(listener)
                    observed_at = time.monotonic()
                if self._drained:  # rows committed since the wake was cleared have set it again (NOTIFY)
                    await self._await_rows(listener)
        finally:
            self.is_leader = False
            self._connections = None
            for conn in (*opened, listener):
                await asyncio.shield(conn.close(timeout=5))

    async def _batch_connection(self) -> asyncpg.Connection:
        """One of the leader's batch connections: plain asyncpg (a batch is one statement, prepared once per
        connection, between BEGIN and COMMIT), no pool, no ping per checkout, the claim's planner settings set at
        connect."""
        return await asyncpg.connect(
            libpq_url(self._engine), server_settings={**CLAIM_SETTINGS, "application_name": "claimflow-relay"}
        )

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

    async def publish_backlog(self, until: float | None = None) -> int:
        """Publish batches in id order until one comes back short (or `until`, a monotonic time, passes).

        Three batches are in the works at a time, each in its own transaction on its own connection, claimed and
        marked by one statement (`claim_and_mark`): while batch k+1's acknowledgements are awaited, batch k
        (acknowledged) is committed and, at the same time, batch k+2 is claimed (and its records built), its rows
        past the two earlier batches' locked ones (SKIP LOCKED). So Postgres commits one batch while the relay reads
        the next, and Kafka acknowledges a third meanwhile. Order per key holds: k+2 is handed to the producer only
        once k+1 is acknowledged, and a failure rolls back every open batch, so their rows go again, in order (a row
        acknowledged but not yet committed goes twice, which consumers' inboxes absorb, as after a crash). Each claim
        starts after the last id of the batch claimed before it; a round starts from the first unpublished row."""
        published = 0
        after = 0
        self._drained = False
        acked: _Claimed | None = None
        """Acknowledged by Kafka, to be committed."""
        sent: _Claimed | None = None
        sent_acks: Coroutine[Any, Any, None] | None = None
        """Handed to the producer, and the wait for its acknowledgements."""
        claimed: _Claimed | None = None
        most = self._batch_size * BACKLOG_BATCHES
        try:
            while True:
                limit = self._batch_size if sent is None else min(most, 2 * sent.limit)
                claiming = self._claim(self._free_connection(sent, acked), limit, after)
                if acked is None:
                    claimed = await claiming
                else:
                    done, acked = acked, None
                    claimed = await self._claim_while_committing(claiming, done)
                    published += len(done.ids)
                if sent_acks is not None:
                    waiting, sent_acks = sent_acks, None
                    await waiting
                    acked, sent = sent, None
                if claimed is None:
                    self._drained = True
                    break
                after = claimed.ids[-1]
                sent_acks = await self._publisher.send(claimed.messages)
                sent, claimed = claimed, None
                short = len(sent.ids) < sent.limit
                if short or (until is not None and time.monotonic() >= until):
                    self._drained = short
                    waiting, sent_acks = sent_acks, None
                    await waiting
                    if acked is not None:
                        done, acked = acked, None
                        await self._commit(done)
                        published += len(done.ids)
                    acked, sent = sent, None
                    break
            if acked is not None:
                done, acked = acked, None
                await self._commit(done)
                published += len(done.ids)
            return published
        finally:
            if sent_acks is not None:
                sent_acks.close()
            for open_batch in (acked, sent, claimed):
                if open_batch is not None:
                    await asyncio.shield(_release(open_batch.conn))

    async def _claim_while_committing(
        self, claiming: Coroutine[Any, Any, _Claimed | None], done: _Claimed
    ) -> _Claimed | None:
        """The next batch, claimed (in a task of its own) while an acknowledged one is committed: two connections at
        work at once. When the commit fails (or this is cancelled), the claim is stopped and its batch, if it got one,
        rolled back."""
        claim = asyncio.ensure_future(claiming)
        try:
            await self._commit(done)
        except BaseException:
            claim.cancel()
            outcome = (await asyncio.gather(claim, return_exceptions=True))[0]
            if isinstance(outcome, _Claimed):
                await asyncio.shield(_release(outcome.conn))
            raise
        return await claim

    def _free_connection(self, *busy: _Claimed | None) -> asyncpg.Connection:
        """A batch connection holding none of the `busy` batches open."""
        if self._connections is None:
            raise RuntimeError("the relay publishes only as leader")
        held = {id(batch.conn) for batch in busy if batch is not None}
        return next(conn for conn in self._connections if id(conn) not in held)

    async def _claim(self, conn: asyncpg.Connection, limit: int, after: int) -> _Claimed | None:
        """The next batch of at most `limit` unpublished rows after id `after`, claimed and marked in its own open
        transaction on `conn`, as Kafka records in id order."""
        try:
            await conn.execute("BEGIN")
            rows = await conn.fetch(self._claim_statement.sql, *self._claim_statement.args(limit=limit, after=after))
            if not rows:
                await asyncio.shield(_release(conn))
                return None
            rows.sort(key=itemgetter(0))  # RETURNING has no set order
            ids = []
            messages = []
            emptied: dict[int, str] = {}
            """Rows written before the split whose envelope holds a PHI payload: what each envelope becomes."""
            for row_id, topic, event_type, envelope, payload in rows:
                ids.append(row_id)
                stored = decode_stored(envelope, payload)
                key, value, headers = kafka_record(stored)
                messages.append(OutgoingMessage(topic, key, value, headers))
                if payload is None and (kept := published_stored(event_type, stored)) is not None:
                    emptied[row_id] = kept
            if emptied:
                statement = self._empty_statement
                await conn.execute(statement.sql, *statement.args(ids=list(emptied), envelopes=list(emptied.values())))
        except BaseException:
            await asyncio.shield(_release(conn))
            raise
        return _Claimed(conn=conn, limit=limit, ids=ids, messages=messages)

    async def _commit(self, claimed: _Claimed) -> None:
        """Commit an acknowledged batch's transaction: its rows published (their PHI payloads emptied)."""
        try:
            await claimed.conn.execute("COMMIT")
        finally:
            await asyncio.shield(_release(claimed.conn))
        for topic, count in Counter(message.topic for message in claimed.messages).items():
            EVENTS_PUBLISHED.labels(self._service, topic).inc(count)

    async def _observe_backlog(self, listener: asyncpg.Connection) -> None:
        row = await listener.fetchrow(self._backlog_sql)
        if row is None:
            count, age = 0, 0.0
        else:
            oldest, counted_rows, first_id, last_id = row
            count = backlog_size(counted_rows, first_id, last_id)
            age = max(0.0, time.time() - oldest.timestamp())
        OUTBOX_BACKLOG.labels(self._service).set(count)
        OUTBOX_OLDEST_AGE.labels(self._service).set(age)
