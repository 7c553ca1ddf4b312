"""Events per second through outbox -> relay -> Kafka -> consumer inbox -> effect, on this machine.

    .venv/bin/python bench/messaging.py [--events 20000] [--batch 500]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local
stack in .local/bench-stack (started and stopped here). The intake relay and the notifications consumer run
as real service processes; this script writes encounter-coded events into intake's outbox in
batches (as intake's own role would), then times publishing and consumption.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.messaging.outbox import Outbox
from tests.support.pipeline import bench_pipeline, coded_encounter


async def run(events: int, batch: int) -> None:
    async with bench_pipeline((INTAKE, NOTIFICATIONS)) as pipeline:
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        await pipeline.start_groups_at_end(NOTIFICATIONS.subscriptions)
        await pipeline.start("notifications")
        await pipeline.start("intake")
        engine = create_engine(pipeline.role_url("intake"), pool_size=2)
        sessions = create_sessionmaker(engine)
        outbox = Outbox(INTAKE.messaging.outbox, source="/claimflow/intake")
        template = {k: v for k, v in coded_encounter().items()}
        admin = await asyncpg.connect(pipeline.admin_url)

        started = time.perf_counter()
        for offset in range(0, events, batch):
            payloads = []
            for _ in range(min(batch, events - offset)):
                encounter_id = uuid.uuid4()
                payload = EncounterCodedV1.model_validate(
                    {**template, "encounter_id": str(encounter_id), "external_encounter_id": encounter_id.hex}
                )
                payloads.append((str(encounter_id), payload))
            async with unit_of_work(sessions) as session:
                await outbox.add_many(session, tenant=tenant, events=payloads)
        written = time.perf_counter()

        published_at = consumed_at = None
        while consumed_at is None:
            if published_at is None and not await admin.fetchval(
                "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL", tenant
            ):
                published_at = time.perf_counter()
            if (
                await admin.fetchval("SELECT count(*) FROM notifications.activity WHERE tenant_id = $1", tenant)
                >= events
            ):
                consumed_at = time.perf_counter()
                published_at = published_at or consumed_at
            await asyncio.sleep(0.05)
        await admin.close()
        await engine.dispose()

        cores = os.cpu_count()
        print(f"\nclaimflow messaging benchmark  (cores: {cores}, events: {events}, outbox batch: {batch})")
        print(f"  outbox writes (batched transactions)    {events / (written - started):>10,.0f} events/s")
        print(f"  outbox -> Kafka (relay, acks=all)       {events / (published_at - started):>10,.0f} events/s")
        print(
            f"  outbox -> Kafka -> inbox + feed row     {events / (consumed_at - started):>10,.0f} events/s"
            f"   ({consumed_at - started:.2f} s end to end)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    asyncio.run(run(arguments.events, arguments.batch))


if __name__ == "__main__":
    main()
