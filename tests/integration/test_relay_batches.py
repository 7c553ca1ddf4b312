"""The relay over a backlog: claims grow while batches come back full, every row goes out once and in order per key;
a send Kafka does not acknowledge leaves the claimed rows unpublished and unlocked, for the next attempt; a published
row keeps no PHI payload, whether its payload has a column of its own or is inside its envelope. Each test
runs an in-process relay on an outbox of its own (a throwaway schema, so its leader lock and rows are the test's),
against the real broker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest
import sqlalchemy as sa
from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.default_records import DefaultRecordBase
from aiokafka.record.memory_records import MemoryRecords
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli.stack.local_stack import sqlalchemy_url
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimStatusChangedV1, EncounterCodedV1
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.outbox import Outbox, OutgoingEvent, stored_json
from shared.messaging.publisher import KafkaPublisher
from shared.messaging.relay import BACKLOG_BATCHES, OutboxRelay, _Claimed
from shared.messaging.tables import messaging_tables
from shared.messaging.topics import CLAIM_STATUS, ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, end_offsets, eventually, read_from

pytestmark = pytest.mark.integration

BATCH = 10
KEYS = 3


class RecordingRelay(OutboxRelay):
    """The relay, noting each claim's limit and how many rows it got."""

    claims: list[tuple[int, int]]
    after_first_claim: Callable[[], Awaitable[None]] | None = None

    async def _claim(self, conn: asyncpg.Connection, limit: int, after: int) -> _Claimed | None:
        claimed = await super()._claim(conn, limit, after)
        self.claims.append((limit, 0 if claimed is None else len(claimed.ids)))
        if self.after_first_claim is not None:
            then, self.after_first_claim = self.after_first_claim, None
            await then()
        return claimed


@dataclass
class OwnOutbox:
    table: sa.Table
    engine: AsyncEngine
    tenant: str

    async def add(self, count: int, session: AsyncSession | None = None) -> list[str]:
        """`count` claim-status events over `KEYS` claims, in one transaction (committed here, or left open in
        `session` when given); their event ids in id order."""
        outbox = Outbox(self.table, source="/claimflow/test")
        events: list[OutgoingEvent] = []
        claims = [str(uuid.uuid4()) for _ in range(KEYS)]
        for n in range(count):
            payload = ClaimStatusChangedV1.model_validate(
                {
                    "claim_id": claims[n % KEYS],
                    "claim_control_number": f"C{n}",
                    "payer_id": "SANDBOX",
                    "from_state": "submitted",
                    "to_state": "accepted",
                    "source": "277CA",
                    "changed_at": "2026-11-30T12:00:00Z",
                }
            )
            events.append((claims[n % KEYS], payload))
        if session is not None:
            envelopes = await outbox.add_many(session, tenant=self.tenant, events=events)
            return [envelope.id for envelope in envelopes]
        async with unit_of_work(create_sessionmaker(self.engine)) as own:
            envelopes = await outbox.add_many(own, tenant=self.tenant, events=events)
        return [envelope.id for envelope in envelopes]

    async def unpublished(self) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
            return int((await conn.execute(query)).scalar_one())


@pytest.fixture
async def own_outbox(pipeline: Pipeline) -> AsyncIterator[OwnOutbox]:
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    table = messaging_tables(sa.MetaData(schema=schema)).outbox
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            await conn.run_sync(table.metadata.create_all)
        yield OwnOutbox(table=table, engine=engine, tenant=f"t-{uuid.uuid4().hex[:8]}")
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()


def _relay(own: OwnOutbox, publisher: KafkaPublisher) -> RecordingRelay:
    relay = RecordingRelay(
        service="test", engine=own.engine, outbox=own.table, publisher=publisher, batch_size=BATCH, poll_interval_s=0.1
    )
    relay.claims = []
    return relay


async def _stop(task: asyncio.Task[None], publisher: KafkaPublisher) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await publisher.stop()


async def test_a_backlog_goes_out_in_growing_batches_once_each_in_order_per_key(
    pipeline: Pipeline, own_outbox: OwnOutbox
) -> None:
    count = 15 * BATCH + 3  # 10, 20, 40, 40, 40, then a short one of 3
    event_ids = await own_outbox.add(count)
    start = await end_offsets(pipeline.kafka, CLAIM_STATUS.name)
    publisher = KafkaPublisher(pipeline.kafka, client_id="test-relay", send_timeout_s=10, stop_timeout_s=10)
    relay = _relay(own_outbox, publisher)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _none_left(own_outbox), what="the relay to publish the backlog")
    finally:
        await _stop(task, publisher)

    most = BATCH * BACKLOG_BATCHES
    assert relay.claims[:6] == [(BATCH, BATCH), (20, 20), (most, most), (most, most), (most, most), (most, 3)]
    records = [
        record
        for record in await read_from(pipeline.kafka, start)
        if dict(record.headers)["ce_tenant"] == own_outbox.tenant.encode()
    ]
    sent = [dict(record.headers)["ce_id"].decode() for record in records]
    assert sorted(sent) == sorted(event_ids), "each event once"
    by_key: dict[bytes, list[str]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(record.key, []).append(dict(record.headers)["ce_id"].decode())
    for key, ids in by_key.items():
        assert ids == [event_id for event_id in event_ids if event_id in set(ids)], f"order of {key!r}"


async def test_the_relay_stores_its_record_batches_compressed_with_zstd(
    pipeline: Pipeline, own_outbox: OwnOutbox
) -> None:
    """Each record batch the relay hands over is zstd-compressed (`PRODUCER_COMPRESSION`), as the broker stores and
    serves it: read back raw, below the consumer (which decompresses without saying)."""
    await own_outbox.add(4 * BATCH)
    start = await end_offsets(pipeline.kafka, CLAIM_STATUS.name)
    await _publish_all(pipeline, own_outbox, what="the relay to publish the rows")
    end = await end_offsets(pipeline.kafka, CLAIM_STATUS.name)

    written = {tp: offset for tp, offset in start.items() if end[tp] > offset}
    codecs = await _stored_codecs(pipeline.kafka, written)
    assert written, "the rows went to at least one partition"
    assert codecs == {tp: {DefaultRecordBase.CODEC_ZSTD} for tp in written}


async def _stored_codecs(kafka: KafkaAccess, start: dict[TopicPartition, int]) -> dict[TopicPartition, set[int]]:
    """The compression codec of each record batch stored from `start` on, per partition, as the broker returns them
    to a fetch (one plain fetch request per partition, the records left as the bytes it sent)."""
    client = AIOKafkaClient(**kafka.client_options())
    await client.bootstrap()
    try:
        cluster = await client.fetch_all_metadata()
        codecs: dict[TopicPartition, set[int]] = {}
        for tp, offset in start.items():
            leader = cluster.leader_for_partition(tp)
            request = FetchRequest(0, 1, 4 * 1024 * 1024, 0, [(tp.topic, [(tp.partition, offset, 4 * 1024 * 1024)])])
            response = await client.send(leader, request)
            records = MemoryRecords(response.topics[0][1][0][-1])
            found = codecs.setdefault(tp, set())
            while (batch := records.next_batch()) is not None:
                found.add(batch.compression_type)
        return codecs
    finally:
        await client.close()


async def test_a_row_committed_below_a_claimed_batch_goes_out_in_the_next_round(
    pipeline: Pipeline, own_outbox: OwnOutbox
) -> None:
    """A claim starts after the batch claimed before it: a row whose id is lower (taken at insert) but whose
    transaction commits after that batch was claimed is passed over by the round's later claims and published by
    the next round, once."""
    late_session = create_sessionmaker(own_outbox.engine)()
    late_ids = await own_outbox.add(1, session=late_session)  # id taken now, committed later
    event_ids = await own_outbox.add(6 * BATCH)  # 10, 20, 30 more rows: three claims after the first
    start = await end_offsets(pipeline.kafka, CLAIM_STATUS.name)
    publisher = KafkaPublisher(pipeline.kafka, client_id="test-relay", send_timeout_s=10, stop_timeout_s=10)
    relay = _relay(own_outbox, publisher)

    async def commit_late() -> None:
        await late_session.commit()
        await late_session.close()

    relay.after_first_claim = commit_late
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _none_left(own_outbox), what="the relay to publish the late row too")
    finally:
        await _stop(task, publisher)

    assert relay.after_first_claim is None, "the late row committed while the first round ran"
    sent = [
        dict(record.headers)["ce_id"].decode()
        for record in await read_from(pipeline.kafka, start)
        if dict(record.headers)["ce_tenant"] == own_outbox.tenant.encode()
    ]
    assert sorted(sent) == sorted(late_ids + event_ids), "each event once, the late one included"
    got = [rows for _, rows in relay.claims if rows]
    assert got == [BATCH, 2 * BATCH, 3 * BATCH, 1], "the round's later claims passed over it; the next took it alone"


async def test_a_send_kafka_does_not_acknowledge_leaves_the_rows_unpublished_and_unlocked(
    pipeline: Pipeline, own_outbox: OwnOutbox
) -> None:
    await own_outbox.add(2 * BATCH)
    nowhere = KafkaAccess(bootstrap_servers=f"127.0.0.1:{await _closed_port()}")
    publisher = KafkaPublisher(nowhere, client_id="test-relay", send_timeout_s=0.5, stop_timeout_s=0.5)
    relay = _relay(own_outbox, publisher)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _failed_after_claiming(relay, publisher), what="a claimed batch the send failed")
    finally:
        await _stop(task, publisher)
    assert await own_outbox.unpublished() == 2 * BATCH
    conn = await asyncpg.connect(pipeline.admin_url)
    try:  # no row stays locked by the failed attempt
        table = f"{own_outbox.table.schema}.outbox"
        locked = f"SELECT count(*) FROM (SELECT FROM {table} FOR UPDATE NOWAIT) AS rows"  # noqa: S608 - our schema
        assert await conn.fetchval(locked) == 2 * BATCH
    finally:
        await conn.close()

    await _publish_all(pipeline, own_outbox, what="the next attempt to publish them")


async def _none_left(own: OwnOutbox) -> bool:
    return await own.unpublished() == 0


async def _publish_all(pipeline: Pipeline, own: OwnOutbox, what: str) -> None:
    """Run a relay on `own` until no row is left unpublished."""
    publisher = KafkaPublisher(pipeline.kafka, client_id="test-relay", send_timeout_s=10, stop_timeout_s=10)
    task = asyncio.create_task(_relay(own, publisher).run())
    try:
        await eventually(lambda: _none_left(own), what=what)
    finally:
        await _stop(task, publisher)


async def _failed_after_claiming(relay: RecordingRelay, publisher: KafkaPublisher) -> bool:
    return bool(relay.claims) and publisher.last_error is not None


async def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    server = await asyncio.start_server(lambda *_: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


async def test_a_published_row_keeps_its_attributes_and_no_phi_payload_in_either_layout(
    pipeline: Pipeline, own_outbox: OwnOutbox
) -> None:
    """A PHI event (`encounter-coded`) and one without PHI (`claim-status`), each written as the outbox writes rows
    now (the payload in its own column) and as it wrote them before (the payload inside the envelope, `payload`
    NULL): all four go out with their payloads, and once published the PHI ones keep their attributes and an empty
    payload, the others stay as written."""
    encounter = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())})
    status = ClaimStatusChangedV1.model_validate(
        {
            "claim_id": str(uuid.uuid4()),
            "claim_control_number": "C1",
            "payer_id": "SANDBOX",
            "from_state": "submitted",
            "to_state": "accepted",
            "source": "277CA",
            "changed_at": "2026-11-30T12:00:00Z",
        }
    )
    outbox = Outbox(own_outbox.table, source="/claimflow/test")
    both: list[OutgoingEvent] = [(str(encounter.encounter_id), encounter), ("s", status)]
    async with unit_of_work(create_sessionmaker(own_outbox.engine)) as session:
        written = await outbox.add_many(session, tenant=own_outbox.tenant, events=both)
        older = outbox.envelopes_of(tenant=own_outbox.tenant, events=both)
        for envelope in older:  # as `stored_json` wrote them before the split: the data inside the envelope
            whole = {**json.loads(stored_json(envelope)), "data": json.loads(envelope.value)}
            await session.execute(
                sa.insert(own_outbox.table).values(
                    event_id=uuid.UUID(envelope.id),
                    topic=envelope.topic,
                    message_key=envelope.subject,
                    event_type=envelope.type,
                    tenant_id=envelope.tenant,
                    envelope=whole,
                )
            )
    start = {
        **await end_offsets(pipeline.kafka, ENCOUNTER_CODED.name),
        **await end_offsets(pipeline.kafka, CLAIM_STATUS.name),
    }
    await _publish_all(pipeline, own_outbox, what="the relay to publish the four rows")

    events = [*written, *older]
    sent = {
        dict(record.headers)["ce_id"].decode(): json.loads(record.value)
        for record in await read_from(pipeline.kafka, start)
        if dict(record.headers)["ce_tenant"] == own_outbox.tenant.encode()
    }
    assert sent == {envelope.id: json.loads(envelope.value) for envelope in events}
    async with own_outbox.engine.connect() as conn:
        table = own_outbox.table
        rows = (await conn.execute(sa.select(table.c.event_id, table.c.envelope, table.c.payload))).all()
    kept = {str(event_id): (envelope, payload) for event_id, envelope, payload in rows}
    new_phi, new_plain, old_phi, old_plain = events
    assert kept[new_phi.id] == (json.loads(stored_json(new_phi)), {})
    assert kept[new_plain.id] == (json.loads(stored_json(new_plain)), json.loads(new_plain.value))
    assert kept[old_phi.id] == ({**json.loads(stored_json(old_phi)), "data": {}}, None)
    assert kept[old_plain.id] == ({**json.loads(stored_json(old_plain)), "data": json.loads(old_plain.value)}, None)
