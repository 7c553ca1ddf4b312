"""Claim search with cursor (keyset) paging, against the claims schema in a real Postgres.

    .venv/bin/python bench/claim_search.py [--claims 200000] [--page 100]

Servers: CLAIMFLOW_TEST_DATABASE_URL + CLAIMFLOW_TEST_KAFKA_BOOTSTRAP_SERVERS when set, else the local
stack in .local/bench-stack (started and stopped here). The script inserts `--claims` synthetic claims
for one tenant (1,000 patients, three payers, three billing NPIs, 365 service days, mixed states) with
the claims repository's own bulk insert, then times `ClaimRepository.search` (the SQL behind
`GET /v1/claims`): the first page and a page deep in the list, by cursor and, for the peer figure, by
OFFSET; a filtered search (patient, state); and a walk of every page of one payer's claims.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.claims.app import DEFINITION as CLAIMS
from services.claims.domain.claim_state import ClaimState
from services.claims.models import claims as claims_table
from services.claims.records import ClaimContents, ClaimQuery, NewClaim
from services.claims.repository import ClaimRepository, StreamWrites
from shared.db import create_engine, create_sessionmaker, unit_of_work
from tests.support.pipeline import bench_pipeline

STATES = [ClaimState.SUBMITTED] * 6 + [ClaimState.PAID] * 3 + [ClaimState.ON_HOLD, ClaimState.DENIED]
PAYERS = ("SANDBOX", "SANDBOX2", "MEDICARE")
NPIS = ("1234567893", "1987654328", "1555555550")


def synthetic(tenant: str, count: int, rng: random.Random) -> list[NewClaim]:
    patients = [uuid.uuid4() for _ in range(1000)]
    first_day = dt.date(2026, 1, 1)
    made = []
    for number in range(count):
        day = first_day + dt.timedelta(days=rng.randrange(365))
        contents = ClaimContents(
            claim_type="professional",
            payer_id=rng.choice(PAYERS),
            patient_id=rng.choice(patients),
            frequency_code="1",
            service_date_from=day,
            service_date_to=day,
            total_charge_cents=rng.randrange(5_000, 50_000),
            currency="USD",
            line_count=1,
            document={"rendering_provider_npi": rng.choice(NPIS)},
            billing_provider_npi=rng.choice(NPIS),
        )
        state = rng.choice(STATES)
        made.append(NewClaim(uuid.uuid4(), tenant, uuid.uuid4(), f"CF{number:010d}", state, [], contents))
    return made


async def timed(run: Callable[[], Awaitable[object]], repeat: int = 5) -> float:
    """Median milliseconds of `repeat` runs of `run`."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main(count: int, page: int) -> None:
    rng = random.Random(14)
    async with bench_pipeline((CLAIMS,)) as pipeline:
        engine = create_engine(pipeline.role_url("claims"), pool_size=2)
        sessions = create_sessionmaker(engine)
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        made = synthetic(tenant, count, rng)
        started = time.perf_counter()
        for offset in range(0, len(made), 5000):
            async with unit_of_work(sessions) as session:
                await StreamWrites(session).insert_claims(made[offset : offset + 5000])
        print(f"inserted {count:,} claims in {time.perf_counter() - started:.1f} s")
        async with unit_of_work(sessions) as session:
            await session.execute(sa.text("ANALYZE claims.claims"))
        deep = count // 2
        async with unit_of_work(sessions) as session:
            repository = ClaimRepository(session, tenant)
            first = await timed(lambda: repository.search(ClaimQuery(), after=None, limit=page))
            key_row = (
                await session.execute(
                    sa.select(claims_table.c.created_at, claims_table.c.id)
                    .where(claims_table.c.tenant_id == tenant)
                    .order_by(claims_table.c.created_at, claims_table.c.id)
                    .offset(deep)
                    .limit(1)
                )
            ).one()
            keyset = (key_row[0], key_row[1])
            by_cursor = await timed(lambda: repository.search(ClaimQuery(), after=keyset, limit=page))

            async def by_offset() -> None:
                await session.execute(
                    sa.select(claims_table)
                    .where(claims_table.c.tenant_id == tenant)
                    .order_by(claims_table.c.created_at, claims_table.c.id)
                    .offset(deep)
                    .limit(page)
                )

            offset_ms = await timed(by_offset)
            patient = made[0].contents.patient_id
            filtered = await timed(
                lambda: repository.search(
                    ClaimQuery(patient_id=patient, states=("submitted", "paid")), after=None, limit=page
                )
            )
            walk_started = time.perf_counter()
            pages = seen = 0
            after = None
            while True:
                found = await repository.search(ClaimQuery(payer_id="MEDICARE"), after=after, limit=500)
                pages, seen = pages + 1, seen + len(found)
                if len(found) < 500:
                    break
                after = (found[-1].created_at, found[-1].id)
            walk_s = time.perf_counter() - walk_started
        await engine.dispose()
    print(f"cores: {os.cpu_count()}  claims: {count:,}  page size: {page}")
    print(f"first page, no filter:               {first:7.2f} ms")
    print(f"page at row {deep:,} by cursor:        {by_cursor:7.2f} ms   (peer: OFFSET {deep:,}: {offset_ms:.2f} ms)")
    print(f"one patient, two states:             {filtered:7.2f} ms")
    print(f"every page of one payer (500/page):  {seen:,} claims in {pages} pages, {walk_s:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.claims, arguments.page))
