"""A `claim-denied` backlog over every partition, with duplicates, through the real denials service: its consumer
applies a round's partition batches together (up to the batch size per transaction), and still every denial opens
exactly one case with one history line, and every redelivered event is skipped by the inbox."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.events.catalog import ClaimDeniedV1, DeniedLine
from shared.events.envelope import to_kafka
from tests.support.events import publish
from tests.support.pipeline import Pipeline, eventually, metric_total, new_tenant

pytestmark = pytest.mark.integration

DENIALS = 240
REDELIVERED = 40


def denial(number: int) -> ClaimDeniedV1:
    carcs = [["16"], ["50"], ["97"], ["29"]][number % 4]
    return ClaimDeniedV1(
        claim_id=uuid.uuid4(),
        claim_control_number=f"BKL{number:06d}",
        payer_id="SANDBOX",
        trace_number=f"TRN{number // 20:05d}",
        denial="full",
        denied_cents=10_000 + number,
        carcs=carcs,
        lines=[DeniedLine(line_number=1, procedure_code="99213", denied_cents=10_000 + number, carcs=carcs)],
    )


async def test_a_backlog_over_every_partition_opens_each_case_once(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    envelopes = await publish(services.kafka, tenant, [denial(n) for n in range(DENIALS)])
    producer = AIOKafkaProducer(**services.kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for envelope in envelopes[:REDELIVERED]:  # the same events again, as after a producer retry
            key, value, headers = to_kafka(envelope)
            await producer.send(envelope.topic, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()

    # Small batches: each fetch then holds several batches of several partitions, split over several transactions.
    denials = await services.start(
        "denials", CLAIMFLOW_CONSUMER_BATCH_SIZE="25", CLAIMFLOW_DENIALS_RUN_APPEAL_SENDING="false"
    )

    async def all_consumed() -> bool:
        skipped = await metric_total(denials, "claimflow_events_duplicate_total", topic="claim-denied")
        opened = await admin_db.fetchval("SELECT count(*) FROM denials.denial_cases WHERE tenant_id = $1", tenant)
        return skipped >= REDELIVERED and opened >= DENIALS

    await eventually(all_consumed, timeout_s=90, what="every denial opened and every duplicate skipped")
    cases = await admin_db.fetch(
        "SELECT c.claim_control_number, c.denied_cents, count(h.id) AS lines FROM denials.denial_cases c"
        " LEFT JOIN denials.case_history h ON h.case_id = c.id WHERE c.tenant_id = $1"
        " GROUP BY c.id, c.claim_control_number, c.denied_cents",
        tenant,
    )
    assert sorted((row["claim_control_number"], row["denied_cents"], row["lines"]) for row in cases) == [
        (f"BKL{n:06d}", 10_000 + n, 1) for n in range(DENIALS)
    ]
