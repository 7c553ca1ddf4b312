"""835 posting throughput and cost curve: claim payments per second parsed and posted (ledger, events, one transaction).

For each size in --claims, a synthetic 835 with N claims (two service lines each, contractual and patient
responsibility adjustments, every claim matched to a submitted claim with a patient), under a fresh tenant
whose ledger already holds the earlier sizes' rows (the tables grow as the curve goes):
- in process: `parse_835` + `post_remittance` in one unit of work as the remittance role; wall time, this
  process's CPU time per claim (the database server's CPU is not in it) and claims per CPU-second;
- over HTTP (--http-claims, one size): the same shape POSTed to the real remittance service process.
Printed beside os.cpu_count(), the load average before and after, and a floor of the database server measured
in the same run (a batched insert of ledger-shaped rows, COPY, one transaction). Linear cost means the
CPU per claim stays flat from 2,000 to 100,000 claims.
Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS, else a local stack in
.local/bench-stack (started and stopped here).

    .venv/bin/python bench/remittance_posting.py --claims 2000,20000,100000 [--http-claims 20000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import os
import pstats
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.remittance.app import DEFINITION as REMITTANCE
from services.remittance.domain.x12_835 import parse_835
from services.remittance.service import post_remittance
from shared.db import create_engine, create_sessionmaker, driver_connection, unit_of_work
from shared.messaging.outbox import Outbox
from shared.patient_match import MemberDigest
from tests.support.pipeline import Pipeline, bench_pipeline
from tests.support.remittance_builder import paid_claim, remittance_file

_ENTRY_SEED_COLUMNS = [
    "tenant_id",
    "account_type",
    "account_id",
    "kind",
    "amount_cents",
    "currency",
    "source_key",
    "posted_on",
]


async def _seed(admin: asyncpg.Connection, tenant: str, control_numbers: list[str], patient: uuid.UUID) -> None:
    """Submitted claims as `claim-submitted` would leave them (COPY: the seed is not what is measured)."""
    records = [
        (
            uuid.uuid4(),
            tenant,
            number,
            "SANDBOX",
            15500,
            "USD",
            patient,
            json.dumps(
                [
                    {
                        "line_number": 1,
                        "line_control_number": f"{number}-1",
                        "procedure_code": "99213",
                        "modifiers": [],
                        "charge_cents": 12500,
                    },
                    {
                        "line_number": 2,
                        "line_control_number": f"{number}-2",
                        "procedure_code": "87880",
                        "modifiers": ["QW"],
                        "charge_cents": 3000,
                    },
                ]
            ),
            json.dumps({"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"}),  # each claim's trace
        )
        for number in control_numbers
    ]
    now, today = dt.datetime.now(dt.UTC), dt.date.today()
    await admin.copy_records_to_table(
        "submitted_claims",
        schema_name="remittance",
        columns=[
            "claim_id",
            "tenant_id",
            "claim_control_number",
            "payer_id",
            "total_charge_cents",
            "currency",
            "patient_id",
            "lines",
            "trace_context",
            "submitted_at",
        ],
        records=[(*record, now) for record in records],
    )
    await admin.copy_records_to_table(  # and each claim's charge, posted with it: its A/R starts then
        "ledger_entries",
        schema_name="remittance",
        columns=_ENTRY_SEED_COLUMNS,
        records=[
            (tenant, "claim", str(record[0]), "charge", record[4], "USD", f"charge:{record[0]}", today)
            for record in records
        ],
    )


@dataclass(frozen=True, slots=True)
class Measured:
    claims: int
    megabytes: float
    parse_wall: float
    parse_cpu: float
    post_wall: float
    post_cpu: float
    database_cpu: float | None
    """CPU seconds of the Postgres backend that ran the posting (from /proc: a server on this machine), or None."""
    wal_bytes: int
    """WAL the posting wrote (the whole server's, while nothing else runs on it)."""


def _process_cpu(pid: int) -> float | None:
    """utime + stime of a process on this machine, in seconds (None when /proc does not show it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _post_in_process(pipeline: Pipeline, admin: asyncpg.Connection, claims: int, *, profile: bool) -> Measured:
    tenant, patient = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    numbers = [f"B{n:07d}" for n in range(claims)]
    await _seed(admin, tenant, numbers, patient)
    await admin.execute("ANALYZE remittance.submitted_claims; ANALYZE remittance.ledger_entries")
    body = remittance_file([paid_claim(number) for number in numbers], trace=f"BENCH-{claims}").encode()
    engine = create_engine(pipeline.role_url("remittance"), pool_size=2)
    sessions = create_sessionmaker(engine)
    outbox = Outbox(REMITTANCE.messaging.outbox, source="/claimflow/remittance")
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    wal_before = await admin.fetchval("SELECT pg_current_wal_insert_lsn()::text")
    wall, cpu = time.perf_counter(), time.process_time()
    advices = parse_835(body)
    parsed_wall, parsed_cpu = time.perf_counter(), time.process_time()
    async with unit_of_work(sessions) as session:
        backend = await (await driver_connection(session)).fetchval("SELECT pg_backend_pid()")
        backend_before = _process_cpu(backend)
        result, _ = await post_remittance(
            session, outbox, tenant=tenant, body=body, advices=advices, member_digest=MemberDigest(b"bench")
        )
    posted_wall, posted_cpu = time.perf_counter(), time.process_time()
    backend_after = _process_cpu(backend)
    database_cpu = None if backend_before is None or backend_after is None else backend_after - backend_before
    wal_bytes = await admin.fetchval(
        "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::text::pg_lsn)", wal_before
    )
    if profiler is not None:
        profiler.disable()
        print(f"\n--- cProfile, {claims:,} claims, by own time ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    assert result.posted == claims, result
    await engine.dispose()
    return Measured(
        claims,
        len(body) / 1e6,
        parsed_wall - wall,
        parsed_cpu - cpu,
        posted_wall - parsed_wall,
        posted_cpu - parsed_cpu,
        database_cpu,
        int(wal_bytes),
    )


async def _database_floor(admin: asyncpg.Connection, rows: int = 100_000) -> float:
    """Ledger-shaped rows per second the database takes in one COPY, one transaction (its own floor here)."""
    await admin.execute(
        "CREATE TEMP TABLE floor_entries "
        "(LIKE remittance.ledger_entries INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
    )
    today = dt.date.today()
    records = [("floor", "claim", str(n), "payment", -n, "USD", f"floor:{n}", today) for n in range(rows)]
    started = time.perf_counter()
    async with admin.transaction():
        await admin.copy_records_to_table(
            "floor_entries",
            columns=_ENTRY_SEED_COLUMNS,
            records=records,
        )
    elapsed = time.perf_counter() - started
    await admin.execute("DROP TABLE floor_entries")
    return rows / elapsed


async def run(sizes: list[int], *, http_claims: int, profile: bool = False) -> None:
    load_before = os.getloadavg()
    async with bench_pipeline((REMITTANCE,)) as pipeline:
        admin = await asyncpg.connect(pipeline.admin_url)
        floor = await _database_floor(admin)
        measured = [await _post_in_process(pipeline, admin, claims, profile=profile) for claims in sizes]
        http: tuple[int, float] | None = None
        if http_claims:
            tenant, patient = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4()
            http_numbers = [f"H{n:07d}" for n in range(http_claims)]
            await _seed(admin, tenant, http_numbers, patient)
            over_http = remittance_file(
                [paid_claim(number) for number in http_numbers], trace="BENCH-HTTP", interchange_control="000000902"
            ).encode()
            await pipeline.start_groups_at_end(REMITTANCE.subscriptions)
            service = await pipeline.start("remittance", CLAIMFLOW_RUN_RELAY="false")
            headers = pipeline.auth(tenant, "remittance:write") | {"content-type": "application/edi-x12"}
            async with httpx.AsyncClient(base_url=service.base_url, timeout=900) as client:
                http_started = time.perf_counter()
                answer = await client.post("/v1/remittances", content=over_http, headers=headers)
                http = (http_claims, time.perf_counter() - http_started)
            assert answer.status_code == 201 and answer.json()["posted"] == http_claims, answer.text[:500]
        entries = await admin.fetchval("SELECT count(*) FROM remittance.ledger_entries")
        await admin.close()
    load_after = os.getloadavg()

    print(
        f"\nclaimflow 835 posting benchmark  (os.cpu_count() = {os.cpu_count()}, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; this process's CPU only)"
    )
    print(f"  database floor: COPY of ledger-shaped rows, one transaction   {floor:>10,.0f} rows/s")
    print(
        f"  {'claims':>8} {'MB':>5} {'parse/s':>9} {'post/s':>9} {'parse+post/s':>13} {'wall s':>7} "
        f"{'CPU ms/claim':>13} {'claims/CPU-s':>13} {'PG CPU ms/claim':>16} {'WAL B/claim':>12} {'overlap':>8}"
    )
    for m in measured:
        wall, cpu = m.parse_wall + m.post_wall, m.parse_cpu + m.post_cpu
        database = "n/a" if m.database_cpu is None else f"{1000 * m.database_cpu / m.claims:.3f}"
        overlap = "n/a" if m.database_cpu is None else f"{(m.post_cpu + m.database_cpu) / m.post_wall:.2f}"
        print(
            f"  {m.claims:>8,} {m.megabytes:>5.1f} {m.claims / m.parse_wall:>9,.0f} {m.claims / m.post_wall:>9,.0f} "
            f"{m.claims / wall:>13,.0f} {wall:>7.2f} {1000 * cpu / m.claims:>13.3f} {m.claims / cpu:>13,.0f} "
            f"{database:>16} {m.wal_bytes / m.claims:>12,.0f} {overlap:>8}"
        )
    print(
        "  CPU ms/claim: this process (parse + post); PG CPU: the Postgres backend of the posting (its commit too);"
        " together they bound the rate on an idle machine"
    )
    print(
        "  overlap: (this process's CPU + the backend's CPU) / wall, while posting: 1.0 when Python and Postgres take"
        " turns, up to 2.0 on 2 cores when each keeps one busy (lower on a loaded machine: CPU there goes to others)"
    )
    if http is not None:
        count, seconds = http
        print(f"  HTTP to the service, {count:,} claims: {count / seconds:,.0f} claim payments/s ({seconds:.2f} s)")
    print(f"  ledger entries in the database at the end: {entries:,}")
    print("  target: 5,000 claim payments/s parsed and posted (goal 20,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", default="2000,20000,100000", help="claims per 835, comma-separated sizes")
    parser.add_argument("--http-claims", type=int, default=20_000, help="claims POSTed over HTTP (0: none)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each in-process posting")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.claims.split(",") if size]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    asyncio.run(run(sizes, http_claims=arguments.http_claims, profile=arguments.profile))


if __name__ == "__main__":
    main()
