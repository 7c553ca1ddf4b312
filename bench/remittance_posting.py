"""835 posting throughput: claim payments per second parsed and posted (ledger, events, all in one transaction).

Synthetic 835 with N claims (two service lines each, contractual and patient responsibility
adjustments, every claim matched to a submitted claim with a patient). Two figures:
- in process: `parse_835` + `post_remittance` in one unit of work as the remittance role;
- over HTTP: the same shape (another trace number) POSTed to the real remittance service process.
Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS, else a local stack in
.local/bench-stack (started and stopped here).

    .venv/bin/python bench/remittance_posting.py --claims 20000 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.remittance.app import DEFINITION as REMITTANCE
from services.remittance.domain.x12_835 import parse_835
from services.remittance.service import post_remittance
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.messaging.outbox import Outbox
from shared.patient_match import MemberDigest
from tests.support.pipeline import bench_pipeline
from tests.support.remittance_builder import paid_claim, remittance_file


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
    await admin.executemany(
        "INSERT INTO remittance.submitted_claims (claim_id, tenant_id, claim_control_number, payer_id, "
        "total_charge_cents, currency, submitted_at, patient_id, lines, trace_context) "
        "VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8::jsonb, $9::jsonb)",
        records,
    )
    await admin.executemany(  # and each claim's charge, posted with it: its A/R starts then
        "INSERT INTO remittance.ledger_entries (tenant_id, account_type, account_id, kind, amount_cents, currency, "
        "source_key, posted_on) VALUES ($1, 'claim', $2, 'charge', $3, 'USD', $4, current_date)",
        [(tenant, str(record[0]), record[4], f"charge:{record[0]}") for record in records],
    )


async def run(claims: int, *, profile: bool = False) -> None:
    async with bench_pipeline((REMITTANCE,)) as pipeline:
        tenant, patient = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4()
        engine = create_engine(pipeline.role_url("remittance"), pool_size=2)
        numbers = [f"B{n:07d}" for n in range(claims)]
        http_numbers = [f"H{n:07d}" for n in range(claims)]  # other claims: the same payments again would be held
        admin = await asyncpg.connect(pipeline.admin_url)
        await _seed(admin, tenant, numbers + http_numbers, patient)
        in_process = remittance_file([paid_claim(number) for number in numbers], trace="BENCH-IN-PROCESS").encode()
        over_http = remittance_file(
            [paid_claim(number) for number in http_numbers], trace="BENCH-HTTP", interchange_control="000000902"
        ).encode()

        sessions = create_sessionmaker(engine)
        outbox = Outbox(REMITTANCE.messaging.outbox, source="/claimflow/remittance")
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        advices = parse_835(in_process)
        parsed = time.perf_counter()
        async with unit_of_work(sessions) as session:
            result, _ = await post_remittance(
                session, outbox, tenant=tenant, body=in_process, advices=advices, member_digest=MemberDigest(b"bench")
            )
        posted = time.perf_counter()
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        assert result.posted == claims, result
        await engine.dispose()

        await pipeline.start_groups_at_end(REMITTANCE.subscriptions)
        service = await pipeline.start("remittance", CLAIMFLOW_RUN_RELAY="false")
        headers = pipeline.auth(tenant, "remittance:write") | {"content-type": "application/edi-x12"}
        async with httpx.AsyncClient(base_url=service.base_url, timeout=600) as client:
            http_started = time.perf_counter()
            answer = await client.post("/v1/remittances", content=over_http, headers=headers)
            http_done = time.perf_counter()
        assert answer.status_code == 201 and answer.json()["posted"] == claims, answer.text[:500]
        entries = await admin.fetchval("SELECT count(*) FROM remittance.ledger_entries WHERE tenant_id = $1", tenant)
        await admin.close()

        print(
            f"\nclaimflow 835 posting benchmark  (cores: {os.cpu_count()}, claims per file: {claims:,}, "
            f"{len(in_process) / 1e6:.1f} MB)"
        )
        print(f"  parse only                              {claims / (parsed - started):>10,.0f} claims/s")
        print(f"  post only (one transaction)             {claims / (posted - parsed):>10,.0f} claim payments/s")
        print(
            f"  parsed and posted, in process           {claims / (posted - started):>10,.0f} claim payments/s"
            f"   ({posted - started:.2f} s)"
        )
        print(
            f"  parsed and posted, HTTP to the service  {claims / (http_done - http_started):>10,.0f} claim payments/s"
            f"   ({http_done - http_started:.2f} s)"
        )
        print(f"  ledger entries written (both files)     {entries:>10,}")
        print("  target                                       5,000 claim payments/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the in-process posting")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a timeout still stops the services
    asyncio.run(run(arguments.claims, profile=arguments.profile))


if __name__ == "__main__":
    main()
