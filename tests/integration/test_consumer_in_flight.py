"""Round batches in flight at once (`consumer_max_in_flight`), on the real broker and database: a partition's
batches never overlap, a blocked batch does not hold up another partition, and no offset is committed ahead of
the transaction that applied its records."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from cli.stack.local_stack import sqlalchemy_url
from services.claims.app import DEFINITION as CLAIMS
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.consumer import ConsumerRunner, Handler, Subscription
from shared.messaging.publisher import KafkaPublisher
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, end_offsets, eventually, new_tenant, rewind_group

pytestmark = pytest.mark.integration

BATCH = 5
BLOCKED, FREE = 0, 1
"""The partition whose first batch is held inside its transaction, and the one that must go on meanwhile."""


async def _committed(pipeline: Pipeline, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**pipeline.kafka.client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp: offset for tp in partitions if (offset := await consumer.committed(tp)) is not None}
    finally:
        await consumer.stop()


async def _publish(pipeline: Pipeline, counts: dict[int, int]) -> dict[str, tuple[int, int]]:
    """`counts[p]` encounter-coded events into partition p; each event id with its partition and offset."""
    template = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())})
    tenant = new_tenant()
    where: dict[str, tuple[int, int]] = {}
    producer = AIOKafkaProducer(**pipeline.kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, count in counts.items():
            for _ in range(count):
                payload = template.model_copy(update={"encounter_id": uuid.uuid4()})
                envelope = EventEnvelope.new(source="/tests", subject=str(uuid.uuid4()), tenant=tenant, payload=payload)
                key, value, headers = to_kafka(envelope)
                sent = await producer.send_and_wait(
                    ENCOUNTER_CODED.name, value, key=key, headers=headers, partition=partition
                )
                where[envelope.id] = (partition, sent.offset)
    finally:
        await producer.stop()
    return where


@contextlib.asynccontextmanager
async def _running(
    pipeline: Pipeline, group: str, handler: Handler, *, client_id: str, max_in_flight: int
) -> AsyncIterator[None]:
    """A consumer of `group` over `encounter-coded` with `handler`, running until the block ends."""
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=4)
    publisher = KafkaPublisher(pipeline.kafka, client_id=client_id, send_timeout_s=10, stop_timeout_s=10)
    runner = ConsumerRunner(
        service="test",
        subscription=Subscription(
            group_id=group, topics=(ENCOUNTER_CODED.name,), handlers={"encounter-coded.v1": handler}
        ),
        sessions=create_sessionmaker(engine),
        inbox=CLAIMS.messaging.inbox,
        publisher=publisher,
        kafka=pipeline.kafka,
        max_attempts=3,
        batch_size=BATCH,
        max_in_flight=max_in_flight,
    )
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publisher.stop()
        await engine.dispose()


async def test_a_held_batch_lets_other_partitions_go_on_and_its_offset_waits_for_its_commit(
    pipeline: Pipeline,
) -> None:
    group = pipeline.group(f"in-flight-{uuid.uuid4().hex[:8]}")
    ends = await end_offsets(pipeline.kafka, ENCOUNTER_CODED.name)
    await rewind_group(pipeline.kafka, group, ends)  # this group starts at the topic's end
    blocked, free = TopicPartition(ENCOUNTER_CODED.name, BLOCKED), TopicPartition(ENCOUNTER_CODED.name, FREE)
    where = await _publish(pipeline, {BLOCKED: BATCH, FREE: 3 * BATCH})

    release, release_free = asyncio.Event(), asyncio.Event()
    held, held_free = asyncio.Event(), asyncio.Event()
    early: list[tuple[int, int]] = []
    seen: dict[int, list[int]] = defaultdict(list)
    admin = await asyncpg.connect(pipeline.admin_url)
    asking = asyncio.Lock()

    async def handler(_session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        """Checks, from another connection, that every earlier record of each partition of the batch is committed
        in the inbox: the batch before it (of its partition) is done, not in flight beside it."""
        first: dict[int, int] = {}
        for envelope in envelopes:
            if envelope.id in where:
                partition, offset = where[envelope.id]
                first.setdefault(partition, offset)
                seen[partition].append(offset)
        for partition, offset in first.items():
            async with asking:
                before = await admin.fetchval(
                    "SELECT count(*) FROM claims.inbox WHERE consumer_group = $1 AND topic = $2 AND partition = $3 "
                    "AND kafka_offset >= $4 AND kafka_offset < $5",
                    group,
                    ENCOUNTER_CODED.name,
                    partition,
                    ends[TopicPartition(ENCOUNTER_CODED.name, partition)],
                    offset,
                )
            if before != offset - ends[TopicPartition(ENCOUNTER_CODED.name, partition)]:
                early.append((partition, offset))
        if BLOCKED in first and not release.is_set():
            held.set()
            await release.wait()  # inside the batch's open transaction: its inbox rows not yet committed
        if first.get(FREE) == ends[free]:  # the other partition's first batch, held too: its next must wait for it
            held_free.set()
            await release_free.wait()

    try:
        # three slots: two beside the held batch, room for two batches of the other partition
        async with _running(pipeline, group, handler, client_id="test-in-flight", max_in_flight=3):

            async def holding() -> bool:
                return held.is_set() and held_free.is_set()

            await eventually(holding, what="a batch of each partition in flight at once")
            release_free.set()

            async def free_partition_committed() -> bool:
                committed = await _committed(pipeline, group, [free])
                return committed.get(free) == ends[free] + 3 * BATCH

            await eventually(free_partition_committed, what="the other partition to be applied and committed")
            assert not release.is_set()
            committed = await _committed(pipeline, group, [blocked])
            assert committed.get(blocked) == ends[blocked], "an offset was committed ahead of its open transaction"

            release.set()

            async def blocked_committed() -> bool:
                return (await _committed(pipeline, group, [blocked])).get(blocked) == ends[blocked] + BATCH

            await eventually(blocked_committed, what="the held batch's offset once its transaction committed")
    finally:
        release.set()
        release_free.set()
        await admin.close()

    assert early == [], "a batch of a partition started before the one ahead of it was committed"
    assert seen[BLOCKED] == [ends[blocked] + i for i in range(BATCH)]
    assert seen[FREE] == [ends[free] + i for i in range(3 * BATCH)], "a partition's records were applied out of order"


async def test_a_backlog_over_every_partition_is_applied_two_batches_at_once(pipeline: Pipeline) -> None:
    """A backlog of every partition, larger than a batch: two batches with no partition in common run at once (the
    first waits for a second beside it), each partition's records still applied in order and committed to the end.
    (The rule that a round is cut by lane is `round_batches`'s, unit-tested: here the rounds come as the broker
    serves them.)"""
    group = pipeline.group(f"in-flight-lanes-{uuid.uuid4().hex[:8]}")
    ends = await end_offsets(pipeline.kafka, ENCOUNTER_CODED.name)
    await rewind_group(pipeline.kafka, group, ends)
    partitions = range(ENCOUNTER_CODED.partitions)
    where = await _publish(pipeline, dict.fromkeys(partitions, 4))

    running = 0
    both = asyncio.Event()
    seen: dict[int, list[int]] = defaultdict(list)

    async def handler(_session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        nonlocal running
        for envelope in envelopes:
            if envelope.id in where:
                partition, offset = where[envelope.id]
                seen[partition].append(offset)
        running += 1
        if running >= 2:
            both.set()
        try:  # the first batch waits (a while) for a second one beside it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both.wait(), 10)
        finally:
            running -= 1

    tps = [TopicPartition(ENCOUNTER_CODED.name, partition) for partition in partitions]
    async with _running(pipeline, group, handler, client_id="test-in-flight-lanes", max_in_flight=2):

        async def all_committed() -> bool:
            committed = await _committed(pipeline, group, tps)
            return all(committed.get(tp) == ends[tp] + 4 for tp in tps)

        await eventually(all_committed, what="every partition's records applied and committed")

    assert both.is_set(), "the backlog's batches ran one at a time"
    for partition in partitions:
        start = ends[TopicPartition(ENCOUNTER_CODED.name, partition)]
        assert seen[partition] == [start + i for i in range(4)], "a partition's records were applied out of order"
