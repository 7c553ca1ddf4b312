"""Denials benchmark: cases classified and queued per second from a `claim-denied` backlog, and the work
queue endpoint's latency with 100,000 open cases.

- backlog: N `claim-denied` events produced to the real topic first; then the real denials service
  process starts and its consumer (inbox, one transaction per partition batch) opens a classified
  case with a due date and expected recovery for each; measured until the service's consumer group has committed
  the last offset (after the last cases' transaction), then every case is checked in the table;
- in process: the same handler over the same events in batches of 500, without Kafka;
- queue: 100,000 open cases (seeded by COPY, not measured), then GET /v1/denial-cases (first page of
  100, with and without filters) sequentially; p50/p95/max.
Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS, else a local stack in
.local/bench-stack (started and stopped here).

    .venv/bin/python bench/denials.py [--events 20000] [--open-cases 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.denials.app import DEFINITION as DENIALS
from services.denials.service import open_denial_cases
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimDeniedV1, DeniedLine
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import CLAIM_DENIED
from tests.support.pipeline import bench_pipeline, end_offsets

DENIALS_MIX = [
    (["16"], ["MA130"]),
    (["50"], ["N115"]),
    (["97"], ["M15"]),
    (["197"], ["M62"]),
    (["29"], []),
    (["18"], []),
    (["96"], ["N130"]),
    (["27"], []),
    (["22"], ["MA04"]),
    (["A8"], []),
]
PAYERS = ["SANDBOX", "SANDBOX2", "MEDICARE", "COMMERCIAL1"]
STALL_S = 120.0
"""The backlog run fails when no case is opened for this long (a broken consumer, not a slow one)."""


def denial_events(tenant: str, count: int, prefix: str) -> list[EventEnvelope]:
    events = []
    for n in range(count):
        carcs, rarcs = DENIALS_MIX[n % len(DENIALS_MIX)]
        amount = 5_000 + (n * 7919) % 95_000
        payload = ClaimDeniedV1(
            claim_id=uuid.uuid4(),
            claim_control_number=f"{prefix}{n:09d}",
            payer_id=PAYERS[n % len(PAYERS)],
            trace_number=f"TRN{n // 50:07d}",
            denial="full",
            denied_cents=amount,
            carcs=carcs,
            rarcs=rarcs,
            lines=[DeniedLine(line_number=1, procedure_code="99213", denied_cents=amount, carcs=carcs, rarcs=rarcs)],
        )
        events.append(
            EventEnvelope.new(
                source="/claimflow/remittance", subject=str(payload.claim_id), tenant=tenant, payload=payload
            )
        )
    return events


async def produce(kafka: KafkaAccess, events: list[EventEnvelope]) -> None:
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for envelope in events:
            key, value, headers = to_kafka(envelope)
            futures.append(await producer.send(CLAIM_DENIED.name, value, key=key, headers=list(headers)))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def seed_open_cases(admin: asyncpg.Connection, tenant: str, count: int) -> None:
    today = dt.date.today()
    causes = ["missing_invalid_information", "medical_necessity", "coding_bundling", "authorization_referral"]
    owners = ["biller", "coder", "coder", "front_desk"]
    records: list[tuple[object, ...]] = [
        (
            uuid.uuid4(),
            tenant,
            f"Q{n:09d}",
            PAYERS[n % 4],
            f"TRQ{n:09d}",
            "full",
            5_000 + (n * 7919) % 95_000,
            "USD",
            [["16", "50", "97", "197"][n % 4]],
            [],
            "open",
            "denial",
            causes[n % 4],
            owners[n % 4],
            (5_000 + (n * 7919) % 95_000) // 2 - 2_500,
            today + dt.timedelta(days=n % 180),
            f"{1_000_000_000 + n % 25:010d}",
        )
        for n in range(count)
    ]
    await admin.copy_records_to_table(
        "denial_cases",
        schema_name="denials",
        columns=[
            "id",
            "tenant_id",
            "claim_control_number",
            "payer_id",
            "trace_number",
            "denial",
            "denied_cents",
            "currency",
            "carcs",
            "rarcs",
            "status",
            "kind",
            "root_cause",
            "owner",
            "expected_recovery_cents",
            "due_date",
            "billing_provider_npi",
        ],
        records=records,
    )
    await admin.execute("ANALYZE denials.denial_cases")


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(postmaster: int | None) -> float:
    """CPU seconds the Postgres server has used so far: the postmaster, its children that exited (reaped: their
    time is in its cutime/cstime) and those still running (backends, walwriter, checkpointer...). Linux /proc."""
    if postmaster is None:
        return 0.0
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(fields[n]) for n in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postmaster_of(backend: int) -> int | None:
    """The Postgres server's process id when it runs on this machine (a backend's parent), else None."""
    try:
        parent = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        comm = Path(f"/proc/{parent}/comm").read_text().strip()
    except OSError:
        return None
    return parent if comm.startswith("postgres") else None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(events: int, open_cases: int, requests: int) -> None:
    async with bench_pipeline((DENIALS,)) as pipeline:
        admin = await asyncpg.connect(pipeline.admin_url)
        postmaster = postmaster_of(await admin.fetchval("SELECT pg_backend_pid()"))
        # In process: the handler alone, batches of 500 as the consumer gives them.
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        envelopes = denial_events(tenant, events, "IP")
        engine = create_engine(pipeline.role_url("denials"), pool_size=2)
        sessions = create_sessionmaker(engine)
        started, cpu_started, pg_started = time.perf_counter(), time.process_time(), postgres_cpu_s(postmaster)
        for offset in range(0, len(envelopes), 500):
            async with unit_of_work(sessions) as session:
                await open_denial_cases(session, envelopes[offset : offset + 500])
        in_process = time.perf_counter() - started
        in_process_cpu = time.process_time() - cpu_started
        in_process_pg = postgres_cpu_s(postmaster) - pg_started
        loads = [os.getloadavg()[0]]
        await engine.dispose()
        opened = await admin.fetchval("SELECT count(*) FROM denials.denial_cases WHERE tenant_id = $1", tenant)
        assert opened == events, opened

        # Backlog through Kafka and the real service process.
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        await pipeline.start_groups_at_end(DENIALS.subscriptions)
        first = await end_offsets(pipeline.kafka, CLAIM_DENIED.name)
        await produce(pipeline.kafka, denial_events(tenant, events, "KF"))
        kafka_admin = AIOKafkaAdminClient(**pipeline.kafka.client_options())
        await kafka_admin.start()
        group = pipeline.group(next(s.group_id for s in DENIALS.subscriptions if CLAIM_DENIED.name in s.topics))

        async def progress() -> int:
            """Events the service has consumed: its group's committed offsets, which move only after the cases'
            transaction commits. Asking Kafka, not counting rows: a count(*) every 50 ms took a fifth of the
            Postgres time of a run."""
            committed = await kafka_admin.list_consumer_group_offsets(group)
            return sum(max(0, committed[tp].offset - start) for tp, start in first.items() if tp in committed)

        started = time.perf_counter()
        service = await pipeline.start("denials", CLAIMFLOW_DENIALS_RUN_APPEAL_SENDING="false")
        ready = time.perf_counter()
        pid = service.process.pid if service.process else None
        service_cpu, pg_cpu = process_cpu_s(pid), postgres_cpu_s(postmaster)
        ready_count = await progress()
        moved, last = time.perf_counter(), ready_count
        while (count := await progress()) < events:
            if count != last:
                moved, last = time.perf_counter(), count
            elif time.perf_counter() - moved > STALL_S:
                raise RuntimeError(
                    f"no case opened for {STALL_S:.0f} s ({count:,} of {events:,}); see {service.log_path}"
                )
            await asyncio.sleep(0.05)
        done = time.perf_counter()
        service_cpu = process_cpu_s(pid) - service_cpu
        pg_cpu = postgres_cpu_s(postmaster) - pg_cpu
        await kafka_admin.close()
        count = await admin.fetchval("SELECT count(*) FROM denials.denial_cases WHERE tenant_id = $1", tenant)
        loads.append(os.getloadavg()[0])
        backlog, after_ready = done - started, done - ready
        assert count == events

        # The queue with 100,000 open cases.
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        await seed_open_cases(admin, tenant, open_cases)
        headers = pipeline.auth(tenant, "denials:read")
        queries: list[dict[str, str | int]] = [
            {},
            {"payer_id": "SANDBOX2"},
            {"root_cause": "medical_necessity"},
            {"owner": "coder"},
            {"carc": "97"},
            {"due_within_days": 30},
            {"provider": "1000000007"},
            {"offset": 1000},
        ]
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=60) as client:
            for n in range(requests + 10):
                query = queries[n % len(queries)]
                began = time.perf_counter()
                response = await client.get("/v1/denial-cases", params=query)
                took = time.perf_counter() - began
                assert response.status_code == 200 and response.json(), response.text[:300]
                if n >= 10:  # warm-up
                    latencies.append(took * 1000)
        await admin.close()

    print(f"\nclaimflow denials benchmark  (cores: {os.cpu_count()}, claim-denied events: {events:,})")
    print(
        f"  classified and queued, in process (batches of 500)   {events / in_process:>10,.0f} cases/s"
        f"   (CPU {in_process_cpu / events * 1e6:.0f} us per case"
        f" -> {events / in_process_cpu:,.0f} cases/s per free core; Postgres {in_process_pg / events * 1e6:.0f} us)"
    )
    print(
        f"  classified and queued from a Kafka backlog (service)  {events / backlog:>10,.0f} cases/s"
        f"   ({backlog:.2f} s incl. service start)"
    )
    print(
        f"    the same, once the service was ready  {(events - ready_count) / after_ready:>24,.0f} cases/s"
        f"   ({events - ready_count:,} cases in {after_ready:.2f} s)"
    )
    after = events - ready_count
    print(
        f"    denials process CPU once ready: {service_cpu / max(after, 1) * 1e6:.0f} us per case"
        f" -> {after / service_cpu if service_cpu else 0:,.0f} cases/s per free core (consumer, inbox and handler)"
    )
    print(
        f"    Postgres CPU once ready: {pg_cpu / max(after, 1) * 1e6:.0f} us per case"
        + ("" if postmaster else " (server not on this machine: not measured)")
    )
    print("  target                                                     5,000 cases/s")
    print(
        f"  load average during the runs: {', '.join(f'{load:.1f}' for load in loads)}"
        " (other work on this machine shares its cores)"
    )
    print(f"  GET /v1/denial-cases with {open_cases:,} open cases ({requests} requests, page of 100, 8 filter shapes)")
    print(
        f"    p50 {statistics.median(latencies):.1f} ms   p95 {percentile(latencies, 0.95):.1f} ms   "
        f"max {max(latencies):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--open-cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(run(arguments.events, arguments.open_cases, arguments.requests))


if __name__ == "__main__":
    main()
