"""The consumer loop: inbox de-duplication, effects and outbox rows in one transaction, then the offset.

Per partition batch: record every event id in the inbox (duplicates skipped), apply the handlers,
commit; only then commit the Kafka offset `{tp: last + 1}`. Up to `max_in_flight` round batches run at
once, each in its own transaction on its own connection (one batch's wait on Postgres overlaps the
next one's decoding and handler work, and the next fetch), never two holding records of one partition:
a partition's records are applied in order, and its offset is committed only up to the batches applied.
A round larger than a batch is cut by lane (a partition always in the same lane), so its batches hold no
partition in common and do run side by side; offsets are committed by a task of their own, so the poll loop
never waits for the broker's answer.
A failing batch is replayed message by message: infrastructure failures (and deadlocks, serialization
failures) retry in place with capped backoff (order kept); a handler that keeps failing, or a message
that is not a valid event, goes to `<topic>.dlt` with headers naming topic, partition, offset, error
and attempts, and the partition moves on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import SpanLimits
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import AsyncpgStatement, driver_connection, integer_array, text_array, unit_of_work
from shared.events.envelope import EventEnvelope, MalformedEvent, from_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.publisher import KafkaPublisher, KafkaUnavailable, OutgoingMessage
from shared.messaging.topics import DLT_SUFFIX, REPLAY_GROUP_HEADER
from shared.telemetry.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    DUPLICATES_SKIPPED,
    EVENTS_PROCESSED,
    HANDLER_SECONDS,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer("claimflow.messaging")

Handler = Callable[[AsyncSession, list[EventEnvelope]], Awaitable[None]]
"""Applies consecutive new events of one type, in partition order, inside the batch's transaction."""
MAX_BACKOFF_S = 5.0
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    # The inbox insert runs on the asyncpg connection itself: its errors arrive unwrapped.
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    KafkaUnavailable,
)


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock detected: Postgres rolled the transaction back for a conflict with another
one (e.g. two batches in flight, or two replicas, locking shared rows in different orders); the same work
succeeds when tried again."""


def is_transient(error: BaseException) -> bool:
    """An infrastructure failure or a conflict with a concurrent transaction: retried in place, never counted
    against the message or dead-lettered."""
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    original = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return sqlstate in RETRYABLE_SQLSTATES


class PoisonMessage(Exception):
    """A handler's verdict that this event can never be applied; it goes straight to the DLT."""


@dataclass(frozen=True, slots=True)
class Subscription:
    group_id: str
    handlers: dict[str, Handler]
    """Event type (e.g. `claim-submitted.v1`) to handler; topics follow from the event catalog."""
    topics: tuple[str, ...]
    max_in_flight: int | None = None
    """Round batches applied at once (each its own transaction); None: the service's `consumer_max_in_flight`.
    1 for handlers that must not run beside another batch of the same group in this process."""


Part = tuple[TopicPartition, list[ConsumerRecord]]
"""Consecutive records of one partition, in offset order."""


@dataclass(slots=True)
class _Batch:
    """A round batch being applied: the task applying it, and the offsets its partitions reach once it is done."""

    task: asyncio.Task[None]
    offsets: dict[TopicPartition, int]


class InFlight:
    """The round batches of one consumer: those being applied (at most `limit` at once, never two with a partition
    in common) and those waiting their turn, in the order fetched. A waiting batch starts as soon as a slot is free,
    none of its partitions is being applied and no earlier waiting batch holds one of them: a partition's batches
    run one after the other, in order, while another partition's go past a slow one. The offsets reached by the
    batches done are kept to commit (a partition's batches finish in order: never an offset past a batch not done).
    """

    def __init__(self, limit: int, apply: Callable[[list[Part]], Coroutine[Any, Any, None]]) -> None:
        self.limit = max(1, limit)
        self._apply = apply
        self._batches: list[_Batch] = []
        self._busy: dict[TopicPartition, _Batch] = {}
        self._waiting: list[list[Part]] = []
        self.waiting_records = 0
        self._applied: dict[TopicPartition, int] = {}

    @property
    def running(self) -> int:
        return len(self._batches)

    def submit(self, parts: list[Part]) -> None:
        """Queues a round batch behind those fetched before it, and starts what can start."""
        self._waiting.append(parts)
        self.waiting_records += sum(len(records) for _, records in parts)
        self._start_ready()

    def _start_ready(self) -> None:
        held: set[TopicPartition] = set()  # partitions of earlier batches still waiting: theirs go first
        waiting: list[list[Part]] = []
        for parts in self._waiting:
            if len(self._batches) >= self.limit or any(tp in self._busy or tp in held for tp, _ in parts):
                waiting.append(parts)
                held.update(tp for tp, _ in parts)
                continue
            batch = _Batch(
                asyncio.create_task(self._apply(parts)),
                {tp: records[-1].offset + 1 for tp, records in parts if records},
            )
            self._batches.append(batch)
            for tp in batch.offsets:
                self._busy[tp] = batch
            self.waiting_records -= sum(len(records) for _, records in parts)
        self._waiting = waiting

    async def wait_any(self, *others: asyncio.Future[Any]) -> None:
        """Until a batch being applied is done (or one of `others`, e.g. the fetch gathering the next round); then
        starts what can start."""
        pending = [batch.task for batch in self._batches] + list(others)
        if pending:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        self.reap()

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Drops the waiting records of `partitions` (a rebalance took them away: their next owner fetches them again
        from the offset committed, and applies them in order)."""
        waiting: list[list[Part]] = []
        for parts in self._waiting:
            self.waiting_records -= sum(len(records) for tp, records in parts if tp in partitions)
            if kept := [(tp, records) for tp, records in parts if tp not in partitions]:
                waiting.append(kept)
        self._waiting = waiting
        self._start_ready()

    async def wait_for(self, partitions: set[TopicPartition], timeout_s: float) -> None:
        """Until no batch holding one of `partitions` is being applied (at most `timeout_s`)."""
        tasks = {batch.task for tp, batch in self._busy.items() if tp in partitions}
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        self.reap()

    def reap(self) -> None:
        """Takes the batches done (their offsets become committable) and starts what can start. A batch that raised
        (a bug: failures are replayed and dead-lettered inside it) raises here, before any later batch of its
        partitions starts."""
        if any(batch.task.done() for batch in self._batches):
            running = []
            for batch in self._batches:
                if not batch.task.done():
                    running.append(batch)
                    continue
                for tp in batch.offsets:
                    if self._busy.get(tp) is batch:
                        del self._busy[tp]
                batch.task.result()  # re-raises; the partitions' offsets stay where they were
                self._applied.update(batch.offsets)
            self._batches = running
        self._start_ready()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def applied(self, partitions: set[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """The offsets reached by the batches done since the last call (only `partitions`' when given): to commit."""
        if partitions is None:
            taken, self._applied = self._applied, {}
            return taken
        return {tp: self._applied.pop(tp) for tp in partitions if tp in self._applied}

    async def cancel(self) -> None:
        """Stops the batches being applied: each transaction rolls back (nothing half-written); no offset moves."""
        tasks = [batch.task for batch in self._batches]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._batches, self._busy, self._waiting, self._applied = [], {}, [], {}
        self.waiting_records = 0


class OffsetCommits:
    """The offsets of the batches applied, committed to Kafka by a task of its own: the poll loop hands them over and
    goes on fetching and starting batches instead of waiting for the broker's answer. One commit at a time, each
    with the latest offset of every partition handed over since the last (offsets only ever come from batches whose
    transaction committed: never ahead of Postgres). A commit refused after a rebalance is logged (the inbox makes
    the re-delivery harmless); any other Kafka error is raised to the poll loop at its next hand-over (the consumer
    restarts, as when it awaited the commit itself)."""

    def __init__(self, commit: Callable[[dict[TopicPartition, int]], Awaitable[None]], group_id: str) -> None:
        self._commit = commit
        self._group_id = group_id
        self._pending: dict[TopicPartition, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # nothing handed over is left to commit
        self._idle.set()
        self._between = asyncio.Event()  # no commit being sent
        self._between.set()
        self._task: asyncio.Task[None] | None = None

    def add(self, offsets: dict[TopicPartition, int]) -> None:
        """Hands over offsets to commit (raises the error a previous commit failed with)."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()
        if not offsets:
            return
        self._pending.update(offsets)
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def take(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        """Removes and returns the offsets of `partitions` not yet sent (a rebalance commits them itself)."""
        return {tp: self._pending.pop(tp) for tp in partitions if tp in self._pending}

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                offsets, self._pending = self._pending, {}
                self._between.clear()
                try:
                    await self._commit(offsets)
                except CommitFailedError:
                    log.info("offset commit refused after rebalance", extra={"group": self._group_id})
                finally:
                    self._between.set()
            self._idle.set()

    async def _until(self, event: asyncio.Event, timeout_s: float) -> None:
        if self._task is None:
            return
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait([waiter, self._task], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def sent(self, timeout_s: float) -> None:
        """Until the commit being sent, if any, is answered (at most `timeout_s`): a commit made after this one
        reaches the broker after it."""
        await self._until(self._between, timeout_s)

    async def close(self, timeout_s: float) -> None:
        """Commits what was handed over (for up to `timeout_s`), then stops the task."""
        await self._until(self._idle, timeout_s)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._pending = {}


CLOSE_COMMIT_S = 5.0
"""How long a consumer stopping (or restarting) waits for the offsets of the batches it applied to be committed."""

REVOKE_WAIT_S = 30.0
"""How long a rebalance waits for the batches in flight of the partitions it takes away (their offsets then
committed, so the next owner does not apply them again); past it the inbox makes the re-delivery harmless."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no types: its base is Any
    """Before partitions go, their batches in flight finish and their offsets are committed
    (`ConsumerRunner.partitions_revoked`). It takes no lock the poll loop holds (rebalances run in a background
    task)."""

    def __init__(self, runner: ConsumerRunner, consumer: AIOKafkaConsumer) -> None:
        self._runner, self._consumer = runner, consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner.partitions_revoked(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        partitions = sorted(map(str, assigned))
        log.info("partitions assigned", extra={"group": self._runner.group_id, "partitions": partitions})


class ConsumerRunner:
    def __init__(
        self,
        *,
        service: str,
        subscription: Subscription,
        sessions: async_sessionmaker[AsyncSession],
        inbox: sa.Table,
        publisher: KafkaPublisher,
        kafka: KafkaAccess,
        max_attempts: int,
        batch_size: int,
        fetch_min_bytes: int = 1,
        fetch_max_wait_ms: int = 500,
        max_in_flight: int = 2,
    ) -> None:
        self._service = service
        self._subscription = subscription
        self._sessions = sessions
        self._inbox = inbox
        self._publisher = publisher
        self._kafka = kafka
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._fetch = {"fetch_min_bytes": fetch_min_bytes, "fetch_max_wait_ms": fetch_max_wait_ms}
        self._consumer: AIOKafkaConsumer | None = None
        self.connected = False
        self._inbox_insert = AsyncpgStatement.of(inbox_insert(inbox))
        self._lag_observed_at = -LAG_EVERY_S
        self._max_in_flight = subscription.max_in_flight or max_in_flight
        self._in_flight: InFlight | None = None
        self._commits: OffsetCommits | None = None
        self._gathered: dict[TopicPartition, list[ConsumerRecord]] = {}

    @property
    def group_id(self) -> str:
        return self._subscription.group_id

    async def run(self) -> None:
        backoff = 0.1
        while True:
            consumer = AIOKafkaConsumer(
                **self._kafka.client_options(),
                group_id=self.group_id,
                client_id=f"claimflow-{self._service}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                max_poll_records=self._batch_size,
                **self._fetch,
            )
            consumer.subscribe(list(self._subscription.topics), listener=_Rebalance(self, consumer))
            try:
                await consumer.start()
                self._consumer = consumer
                self.connected = True
                backoff = 0.1
                await self._poll(consumer)
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("consumer paused", extra={"group": self.group_id, "error": f"{type(exc).__name__}"})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            finally:
                self.connected = False
                self._consumer = None
                try:
                    await asyncio.wait_for(consumer.stop(), 10)
                except Exception:  # a hung stop must not hang shutdown
                    log.warning("consumer stop did not finish", extra={"group": self.group_id})

    async def partitions_revoked(self, consumer: AIOKafkaConsumer, revoked: set[TopicPartition]) -> None:
        """Before a rebalance takes `revoked` away: their batches in flight finish (for up to REVOKE_WAIT_S) and the
        offsets they reached are committed, so the next owner starts after them."""
        for tp in revoked:
            try:
                CONSUMER_LAG.remove(self._service, self.group_id, tp.topic, str(tp.partition))
            except KeyError:
                pass
        log.info("partitions revoked", extra={"group": self.group_id, "partitions": sorted(map(str, revoked))})
        in_flight, commits = self._in_flight, self._commits
        if in_flight is None or not revoked:
            return
        for tp in revoked:  # their next owner fetches them from the offset committed here
            self._gathered.pop(tp, None)
        in_flight.forget(revoked)
        offsets: dict[TopicPartition, int] = {}
        if commits is not None:  # what the commit task has not sent yet is sent here, after what it is sending
            offsets.update(commits.take(revoked))
            await commits.sent(REVOKE_WAIT_S)
        try:
            await in_flight.wait_for(revoked, REVOKE_WAIT_S)
        except Exception as exc:  # a batch that raised: the poll loop raises it too; its partitions' offsets stay
            log.warning("batch failed during a rebalance", extra={"group": self.group_id, "error": type(exc).__name__})
        offsets.update(in_flight.applied(revoked))
        if offsets:
            try:
                await consumer.commit(offsets)
            except KafkaError:  # CommitFailedError among them: the inbox makes the re-delivery harmless
                log.info("offset commit refused during rebalance", extra={"group": self.group_id})

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        """Up to one batch per assigned partition per round (a fetch returns several partitions at once), each
        partition's records applied in round batches of at most `batch_size` records, up to `max_in_flight` of them
        at once (`InFlight`). A round larger than a batch is cut by lane (`lane_of`: a partition always in the same
        one of `max_in_flight` lanes), so its batches hold no partition in common and run side by side. While
        batches are being applied, a fetch gathers the next round (the loop waits for whichever comes first, the
        fetch or a batch done): a lane's gathered records start once they fill a batch (a backlog: the overlap),
        all of them once nothing is being applied (batches stay as large as before while the consumer keeps up).
        The offsets of the batches done are handed to `OffsetCommits` (committed by a task of its own)."""
        in_flight = self._in_flight = InFlight(self._max_in_flight, self._handle_round_batch)
        commits = self._commits = OffsetCommits(lambda offsets: self._commit(consumer, offsets), self.group_id)
        lanes = in_flight.limit
        gathered = self._gathered = {}  # a rebalance drops the records of the partitions it takes away
        fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord]]] | None = None
        try:
            while True:
                limit = self._batch_size * max(1, len(consumer.assignment()))
                count = sum(len(records) for records in gathered.values())
                if not in_flight.running and fetch is None and not count:
                    for chunk in round_batches(await _gathered(consumer, limit), self._batch_size, lanes):
                        in_flight.submit(chunk)
                else:
                    if fetch is None and in_flight.waiting_records + count < limit:
                        fetch = asyncio.create_task(
                            consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=max(1, limit - count))
                        )
                    await in_flight.wait_any(*(() if fetch is None else (fetch,)))
                    if fetch is not None and fetch.done():
                        more, fetch = fetch.result(), None
                        for tp, records in more.items():
                            gathered.setdefault(tp, []).extend(records)
                            count += len(records)
                    if count and not in_flight.running:
                        for chunk in round_batches(gathered, self._batch_size, lanes):
                            in_flight.submit(chunk)
                        gathered.clear()
                    elif count >= self._batch_size:
                        for chunk in full_lanes(gathered, self._batch_size, lanes):
                            in_flight.submit(chunk)
                commits.add(in_flight.applied())
                if time.monotonic() - self._lag_observed_at >= LAG_EVERY_S:
                    await self._observe_lag(consumer)
        finally:
            self._in_flight = self._commits = None
            self._gathered = {}
            if fetch is not None:
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)
            await in_flight.cancel()
            await commits.close(CLOSE_COMMIT_S)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commits the offsets of the partitions still assigned: a batch of a partition a rebalance took away may
        finish after it (it waited behind another, or its records were gathered before); aiokafka refuses an
        unassigned partition's offset with an error that would restart the consumer, and the next owner's inbox
        makes the re-delivery harmless."""
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if offsets:
            await consumer.commit(offsets)

    async def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        """The lag gauge of every assigned partition (a consumer of every domain topic has over a hundred: per
        round, this was a position lookup and a labelled gauge each, whatever the round's size)."""
        self._lag_observed_at = time.monotonic()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            CONSUMER_LAG.labels(self._service, self.group_id, tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )

    async def _handle_round_batch(self, chunk: list[tuple[TopicPartition, list[ConsumerRecord]]]) -> None:
        """Records of several partitions (at most `batch_size` in all) in one transaction: a partition batch's
        fixed cost (the transaction, the inbox statement, each handler's statements) is shared when events are
        spread over many partitions. Each partition's records keep their order; on failure each partition is
        replayed on its own (then message by message)."""
        if len(chunk) == 1:
            await self._handle_partition_batch(*chunk[0])
            return
        started = time.perf_counter()
        try:
            decoded = [item for tp, records in chunk for item in self._decoded(tp, records)]
            if not decoded:
                return
            async with unit_of_work(self._sessions) as session:
                await self._apply(session, decoded)
        except Exception as exc:
            log.info("round batch failed; replaying partition by partition", extra={"error": type(exc).__name__})
            for tp, records in chunk:
                await self._handle_partition_batch(tp, records)
            return
        elapsed = time.perf_counter() - started
        for topic in {tp.topic for tp, _ in chunk}:
            HANDLER_SECONDS.labels(self._service, topic).observe(elapsed)

    async def _handle_partition_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        started = time.perf_counter()
        try:
            decoded = self._decoded(tp, records)
            if not decoded:
                return
            async with unit_of_work(self._sessions) as session:
                await self._apply(session, decoded)
        except Exception as exc:
            log.info(
                "batch failed; replaying one by one",
                extra={"topic": tp.topic, "partition": tp.partition, "error": type(exc).__name__},
            )
            for record in records:
                if addressed_to(record, self.group_id):
                    await self._handle_one(tp, record)
        HANDLER_SECONDS.labels(self._service, tp.topic).observe(time.perf_counter() - started)

    def _decoded(
        self, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]]:
        """The records addressed to this group, decoded (MalformedEvent for the first that is not an event): each
        record's headers made a dict once, for the replay check and the envelope alike."""
        decoded = []
        group_id = self.group_id
        for record in records:
            headers = record.headers or ()
            found = dict(headers)
            if REPLAY_GROUP_HEADER in found and not addressed_to(record, group_id):
                continue
            decoded.append((tp, record, from_kafka(record.key, record.value, headers, found)))
        return decoded

    async def _apply(
        self, session: AsyncSession, decoded: list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]]
    ) -> None:
        fresh = await self._record_in_inbox(session, decoded)
        # The inbox returns each id it inserted once: as many as the batch has events, every event is new and none
        # is there twice (the common case, with no set to keep per event).
        applied = decoded if len(fresh) == len(decoded) else self._first_deliveries(decoded, fresh)
        # Consecutive events of one type go to their handler together, so order (per partition) is kept.
        for event_type, run in itertools.groupby(applied, key=lambda item: item[2].type):
            handler = self._subscription.handlers.get(event_type)
            if handler is None:
                raise MalformedEvent(f"no handler for event type {event_type!r} in group {self.group_id}")
            items = list(run)
            with self._processing_span(items):
                await handler(session, [envelope for _, _, envelope in items])
            for topic, count in Counter(tp.topic for tp, _, _ in items).items():
                EVENTS_PROCESSED.labels(self._service, topic, event_type).inc(count)

    def _first_deliveries(
        self, decoded: list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]], fresh: set[str]
    ) -> list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]]:
        """The events the inbox took as new, each once (a redelivery, or an id twice in the batch, is skipped)."""
        applied: list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]] = []
        seen: set[str] = set()
        for item in decoded:
            envelope = item[2]
            if envelope.id not in fresh or envelope.id in seen:
                DUPLICATES_SKIPPED.labels(self._service, item[0].topic).inc()
                continue
            seen.add(envelope.id)
            applied.append(item)
        return applied

    async def _record_in_inbox(
        self, session: AsyncSession, decoded: list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]]
    ) -> set[str]:
        """Every event id of the batch in one statement (arrays, not a row of parameters each); returns the new ones.

        Run on the session's asyncpg connection, inside its transaction, as the statement compiled once (prepared
        once per connection by asyncpg's cache): no SQLAlchemy execution, bind or result processing per batch."""
        if not decoded:
            return set()
        connection = await driver_connection(session)
        statement = self._inbox_insert
        rows = await connection.fetch(
            statement.sql,
            *statement.args(
                event_ids=text_array([envelope.id for _, _, envelope in decoded]),
                consumer_group=self.group_id,
                topics=text_array([tp.topic for tp, _, _ in decoded]),
                partitions=integer_array([tp.partition for tp, _, _ in decoded]),
                offsets=integer_array([record.offset for _, record, _ in decoded]),
                event_types=text_array([envelope.type for _, _, envelope in decoded]),
            ),
        )
        return {row[0] for row in rows}

    def _processing_span(
        self, items: list[tuple[TopicPartition, ConsumerRecord, EventEnvelope]]
    ) -> AbstractContextManager[trace.Span]:
        """A single event continues its producer's trace; a batch links to its producers' traces."""
        if len(items) == 1:
            context, links = propagate.extract(items[0][2].trace_headers), None
        else:
            context, links = None, batch_links([envelope for _, _, envelope in items])
        tp, first_record, first_envelope = items[0]
        return tracer.start_as_current_span(
            f"process {tp.topic}",
            context=context,
            links=links,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": tp.topic,
                "messaging.destination.partition.id": str(tp.partition),
                "messaging.kafka.offset": first_record.offset,
                "messaging.batch.message_count": len(items),
                "messaging.message.id": first_envelope.id,
                "messaging.consumer.group.name": self.group_id,
                "cloudevents.event_type": first_envelope.type,
            },
        )

    async def _handle_one(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        attempt = 0
        backoff = 0.1
        while True:
            attempt += 1
            try:
                envelope = _decode(record)
                async with unit_of_work(self._sessions) as session:
                    await self._apply(session, [(tp, record, envelope)])
                return
            except (MalformedEvent, PoisonMessage) as exc:
                await self._dead_letter(tp, record, exc, attempt)
                return
            except Exception as exc:
                if is_transient(exc):
                    log.warning(
                        "transient failure; retrying in place",
                        extra={"topic": tp.topic, "offset": record.offset, "error": type(exc).__name__},
                    )
                elif attempt >= self._max_attempts:
                    await self._dead_letter(tp, record, exc, attempt)
                    return
                else:
                    log.warning(
                        "handler failed; retrying",
                        extra={
                            "topic": tp.topic,
                            "offset": record.offset,
                            "attempt": attempt,
                            "error": type(exc).__name__,
                        },
                    )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _dead_letter(
        self, tp: TopicPartition, record: ConsumerRecord, error: BaseException, attempts: int
    ) -> None:
        headers = list(record.headers or ()) + [
            ("dlt-original-topic", tp.topic.encode()),
            ("dlt-original-partition", str(tp.partition).encode()),
            ("dlt-original-offset", str(record.offset).encode()),
            ("dlt-consumer-group", self.group_id.encode()),
            ("dlt-error", describe_error(error).encode()),
            ("dlt-attempts", str(attempts).encode()),
            ("dlt-failed-at", dt.datetime.now(dt.UTC).isoformat().encode()),
        ]
        message = OutgoingMessage(
            topic=tp.topic + DLT_SUFFIX, key=record.key or b"", value=record.value or b"", headers=headers
        )
        backoff = 0.1
        while True:
            try:
                await self._publisher.publish([message])
                break
            except KafkaUnavailable:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        DEAD_LETTERS.labels(self._service, tp.topic).inc()
        log.error(
            "message dead-lettered",
            extra={
                "topic": tp.topic,
                "partition": tp.partition,
                "offset": record.offset,
                "error": type(error).__name__,
                "attempts": attempts,
            },
        )


LAG_EVERY_S = 1.0
"""How often the consumer lag gauges are refreshed while records flow (and after each idle poll past it)."""

MAX_SPAN_LINKS: int | None = SpanLimits().max_links
"""The links a span keeps (OTEL_SPAN_LINK_COUNT_LIMIT, 128 by default): the SDK keeps a span's last this many and
drops the rest, so a 500-event batch built 372 links (a SpanContext and a Link per event) for nothing."""

LINGER_S = 0.02
"""How long a round keeps fetching when its first fetch came back short of a full batch: while events stream in
(each fetch returning the few that arrived since the last), a batch's fixed cost (a transaction, the inbox
statement, each handler's statements, the offset commit) is shared by many events instead of a few. An idle
consumer's first event waits at most this long."""


FETCH_TIMEOUT_MS = 500
"""How long an idle consumer's fetch waits for records (with no batch in flight)."""


def lane_of(tp: TopicPartition, lanes: int) -> int:
    """The lane of a partition among `lanes` (the round batches in flight): a round larger than a batch is cut by
    lane, so its batches hold no partition in common and are applied side by side; a topic's partitions alternate
    between lanes."""
    return (zlib.crc32(tp.topic.encode()) + tp.partition) % lanes if lanes > 1 else 0


def round_batches(
    batches: dict[TopicPartition, list[ConsumerRecord]], batch_size: int, lanes: int = 1
) -> list[list[Part]]:
    """A round's records as round batches of at most `batch_size` records each, in order: each partition's records
    cut into parts of at most `batch_size`, parts packed into batches (a partition of up to `batch_size` records
    in one batch; a partition's later parts in later batches). A round of more than `batch_size` records is cut
    by lane first (`lane_of`): each lane's batches hold only its partitions, the lanes' batches interleaved."""
    if lanes > 1 and sum(len(records) for records in batches.values()) > batch_size:
        by_lane: dict[int, dict[TopicPartition, list[ConsumerRecord]]] = {}
        for tp, records in batches.items():
            by_lane.setdefault(lane_of(tp, lanes), {})[tp] = records
        cut = [round_batches(lane, batch_size) for lane in by_lane.values()]
        return [chunk for turn in itertools.zip_longest(*cut) for chunk in turn if chunk is not None]
    chunks: list[list[Part]] = []
    chunk: list[Part] = []
    size = 0
    for tp, records in batches.items():
        for start in range(0, len(records), batch_size):
            part = records[start : start + batch_size]
            if chunk and size + len(part) > batch_size:
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append((tp, part))
            size += len(part)
    if chunk:
        chunks.append(chunk)
    return chunks


def full_lanes(gathered: dict[TopicPartition, list[ConsumerRecord]], batch_size: int, lanes: int) -> list[list[Part]]:
    """The round batches of each lane whose gathered records fill at least a batch, taken out of `gathered` (the
    other lanes' records stay, to grow into a full batch or to go when nothing is being applied)."""
    by_lane: dict[int, list[TopicPartition]] = {}
    for tp in gathered:
        by_lane.setdefault(lane_of(tp, lanes), []).append(tp)
    chunks: list[list[Part]] = []
    for partitions in by_lane.values():
        if sum(len(gathered[tp]) for tp in partitions) >= batch_size:
            chunks.extend(round_batches({tp: gathered.pop(tp) for tp in partitions}, batch_size))
    return chunks


async def _gathered(
    consumer: AIOKafkaConsumer, limit: int, timeout_ms: int = FETCH_TIMEOUT_MS
) -> dict[TopicPartition, list[ConsumerRecord]]:
    """One round's records: a fetch, then more fetches for up to LINGER_S while the round is short of `limit`."""
    batches: dict[TopicPartition, list[ConsumerRecord]] = await consumer.getmany(
        timeout_ms=timeout_ms, max_records=limit
    )
    count = sum(len(records) for records in batches.values())
    if not count or count >= limit:
        return batches
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_S
    while count < limit and (remaining := deadline - loop.time()) > 0:
        more = await consumer.getmany(timeout_ms=max(1, int(remaining * 1000)), max_records=limit - count)
        for tp, records in more.items():
            batches.setdefault(tp, []).extend(records)
            count += len(records)
    return batches


def inbox_insert(inbox: sa.Table) -> sa.TextClause:
    """Insert a batch's event ids into the inbox, skipping those already there, returning the new. The five columns
    come as array literals in text parameters (`text_array`, `integer_array`), cast to arrays by Postgres: asyncpg
    encodes a list parameter element by element, with an `isinstance` check or two against `collections.abc`
    classes for each (in a cProfile of the notifications consumer, those checks were a sixth of its CPU, over the
    inbox statement and the feed's)."""
    table = f'"{inbox.schema}"."{inbox.name}"' if inbox.schema else f'"{inbox.name}"'
    return sa.text(
        f"INSERT INTO {table} (event_id, consumer_group, topic, partition, kafka_offset, event_type) "  # noqa: S608
        "SELECT event_id, :consumer_group, topic, partition, kafka_offset, event_type "
        "FROM unnest(CAST(CAST(:event_ids AS text) AS text[]), CAST(CAST(:topics AS text) AS text[]), "
        "CAST(CAST(:partitions AS text) AS integer[]), CAST(CAST(:offsets AS text) AS bigint[]), "
        "CAST(CAST(:event_types AS text) AS text[])) "
        "AS batch(event_id, topic, partition, kafka_offset, event_type) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    ).bindparams(
        *(
            sa.bindparam(name, type_=sa.Text)
            for name in ("event_ids", "consumer_group", "topics", "partitions", "offsets", "event_types")
        )
    )


def describe_error(error: BaseException) -> str:
    """Why a message failed, safe for headers and logs: database errors carry their SQL parameters
    (possibly PHI) in their text, so only their class and SQLSTATE are kept."""
    if isinstance(error, sa.exc.StatementError):
        original = error.orig
        sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        return f"{type(error).__name__}: {type(original).__name__}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    return f"{type(error).__name__}: {error}"[:1000]


def addressed_to(record: ConsumerRecord, group_id: str) -> bool:
    """False for a dead letter replayed to another consumer group (`claimflow dlt replay --group`): only the
    group that failed it handles it again, so a replay never multiplies letters in the others."""
    for name, value in record.headers or ():
        if name == REPLAY_GROUP_HEADER:
            return bytes(value).decode(errors="replace") == group_id
    return True


def _decode(record: ConsumerRecord) -> EventEnvelope:
    return from_kafka(record.key, record.value, record.headers or ())


def batch_links(envelopes: list[EventEnvelope]) -> list[trace.Link]:
    """Links to the producers' spans of a batch's events: those of the last MAX_SPAN_LINKS events that carry
    one, in batch order (the links the SDK keeps of all; the others are not built only to be dropped)."""
    links: list[trace.Link] = []
    for envelope in reversed(envelopes):
        if MAX_SPAN_LINKS is not None and len(links) >= MAX_SPAN_LINKS:
            break
        if (span_context := remote_span(envelope)) is not None:
            links.append(trace.Link(span_context))
    links.reverse()
    return links


_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def remote_span(envelope: EventEnvelope) -> trace.SpanContext | None:
    """The producer's span an event continues, for a batch span's links: its `traceparent` read directly (what the
    W3C propagator reads, without building a context per event); None when it has none or an invalid one."""
    headers = envelope.trace_headers
    traceparent = headers.get("traceparent")
    if traceparent is None:
        return None
    found = _TRACEPARENT.match(traceparent)
    if found is None or "tracestate" in headers:  # another version, or a trace state: the propagator reads it
        span_context = trace.get_current_span(propagate.extract(headers)).get_span_context()
        return span_context if span_context.is_valid else None
    trace_id, span_id, flags = int(found[1], 16), int(found[2], 16), int(found[3], 16)
    if not (trace_id and span_id):
        return None
    return trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(flags))
