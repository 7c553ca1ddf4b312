"""Claims per second from `encounter-coded` to `claim-submitted` with the 837 written and stored.

    .venv/bin/python bench/claims_throughput.py [--encounters 20000]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local
stack in .local/bench-stack (started and stopped here). This script first produces complete
encounter-coded events (the intake example `professional.json`, each with a fresh encounter and
patient) to Kafka, then starts the claims service as a real process (consumer, scrubber, batching
loop, outbox relay) on that backlog and times, from the database's own timestamps (first claim
transaction to last event published): claims built and scrubbed, claims in stored 837s, and their
`claim-submitted` events published. Figures are printed with the machine's core count.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.claims.app import DEFINITION as CLAIMS
from services.intake.domain.documents import document_event
from services.intake.schemas import EncounterDocument
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import bench_pipeline

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "encounters" / "professional.json"


async def produce(kafka: KafkaAccess, tenant: str, count: int) -> None:
    document = EncounterDocument.model_validate_json(EXAMPLE.read_text())
    template, problems = document_event(document, today=dt.date.today())
    assert template is not None, problems
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        pending = []
        for _ in range(count):
            event = template.model_copy(update={"encounter_id": uuid.uuid4(), "patient_id": uuid.uuid4()})
            envelope = EventEnvelope.new(source="/bench", subject=str(event.encounter_id), tenant=tenant, payload=event)
            key, value, headers = to_kafka(envelope)
            pending.append(await producer.send(ENCOUNTER_CODED.name, value, key=key, headers=headers))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def run(encounters: int, consumer_batch: int | None) -> None:
    async with bench_pipeline((CLAIMS,)) as pipeline:
        kafka, work = pipeline.kafka, pipeline.log_dir
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(pipeline.admin_url)
        # The example's dates are fixed; its payer's filing window may have closed since.
        await admin.execute(
            "INSERT INTO claims.disabled_scrub_rules (tenant_id, rule_id) VALUES ($1, 'timely_filing.expired')", tenant
        )
        await pipeline.start_groups_at_end(CLAIMS.subscriptions)
        started = time.perf_counter()
        await produce(kafka, tenant, encounters)
        produced = time.perf_counter()
        extra = {"CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(work / "clearinghouse")}
        if consumer_batch:
            extra["CLAIMFLOW_CONSUMER_BATCH_SIZE"] = str(consumer_batch)
        from bench.claims_scale import cpu_seconds, pid_of  # here: claims_scale imports this module

        process = await pipeline.start("claims", CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S="0.2", **extra)
        cpu_started = cpu_seconds(pid_of(process))  # started and migrated: what follows is the backlog's work
        deadline = time.monotonic() + 900
        done = False
        while not done and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            batched = await admin.fetchval(
                "SELECT count(*) FROM claims.claims WHERE tenant_id = $1 AND state IN ('batched', 'submitted')", tenant
            )
            done = batched >= encounters and not await admin.fetchval(
                "SELECT (SELECT count(*) FROM claims.outbox WHERE tenant_id = $1 AND published_at IS NULL) + "
                "(SELECT count(*) FROM claims.submissions WHERE tenant_id = $1 AND status = 'stored')",
                tenant,
            )
        cpu = cpu_seconds(pid_of(process)) - cpu_started
        held = await admin.fetchval(
            "SELECT count(*) FROM claims.claims WHERE tenant_id = $1 AND state = 'on_hold'", tenant
        )
        if not done:
            raise SystemExit(f"did not finish in time (held: {held}); logs under {work}")
        first, built, batched_at = await admin.fetchrow(
            "SELECT min(c.created_at), max(c.created_at), max(s.created_at) FROM claims.claims c "
            "JOIN claims.submissions s ON s.id = c.submission_id WHERE c.tenant_id = $1",
            tenant,
        )
        files, sent = await admin.fetchrow(
            "SELECT count(*), max(sent_at) FROM claims.submissions WHERE tenant_id = $1", tenant
        )
        published = await admin.fetchval("SELECT max(published_at) FROM claims.outbox WHERE tenant_id = $1", tenant)
        await admin.close()

        def rate(until: dt.datetime) -> str:
            seconds = (until - first).total_seconds()
            return f"{encounters / seconds:>8,.0f} claims/s   ({seconds:.2f} s)"

        print(
            f"\nclaimflow claims benchmark  (cores: {os.cpu_count()}, encounters: {encounters}, held: {held}, "
            f"consumer batch: {consumer_batch or 'default'})"
        )
        print(f"  encounter-coded produced to Kafka first  {encounters / (produced - started):>8,.0f} events/s")
        print("  then, timed from the claims service's first claim transaction:")
        print(f"  claims built, priced, scrubbed           {rate(built)}")
        print(f"  claims in stored 837s ({files} files)  {rate(batched_at)}")
        print(f"  claim-submitted published                {rate(published)}")
        if sent is not None:
            print(f"  837 files handed to the file drop        {rate(sent)}")
        print(
            f"  claims process CPU {cpu:.1f} s: {1000 * cpu / encounters:.3f} ms per claim "
            f"(load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--consumer-batch", type=int, default=None, help="Records per consumed batch (default: 500).")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    asyncio.run(run(arguments.encounters, arguments.consumer_batch))


if __name__ == "__main__":
    main()
