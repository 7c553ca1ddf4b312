"""Claim numbers (CLM01) are allocated in a short transaction of their own: two batches of one tenant, on two
engines as two replicas would run them, build their claims at once (the second never waits for the first one's
transaction), every number is unique per tenant, and a batch rolled back leaves a gap that no later batch fills."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.service import build_claims, claim_control_number
from services.claims.settings import ClaimsSettings
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.envelope import EventEnvelope
from tests.support.encounters import example
from tests.support.pipeline import Pipeline, new_tenant, role_waits_on_a_lock

pytestmark = pytest.mark.integration
SETTINGS = ClaimsSettings()
PER_BATCH = 3


class RolledBack(Exception):
    """Raised inside a unit of work to roll it back after its claims were built."""


@pytest.fixture
async def replicas(
    pipeline: Pipeline,
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]]]:
    """Two engines of the claims role, as two replicas have."""
    engines = [create_engine(pipeline.role_url("claims"), pool_size=2) for _ in range(2)]
    yield create_sessionmaker(engines[0]), create_sessionmaker(engines[1])
    for engine in engines:
        await engine.dispose()


def _batch(tenant: str) -> list[EventEnvelope]:
    return [
        EventEnvelope.new(source="test", subject=str(e.encounter_id), tenant=tenant, payload=e).replace()
        for e in (example("professional") for _ in range(PER_BATCH))
    ]


async def _build(sessions: async_sessionmaker[AsyncSession], envelopes: list[EventEnvelope]) -> int:
    async with unit_of_work(sessions) as session:
        return await build_claims(session, envelopes, SETTINGS, dt.date.today())


async def test_two_batches_of_one_tenant_build_at_once_and_never_share_a_claim_number(
    replicas: tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]],
    admin_db: asyncpg.Connection,
) -> None:
    one, two = replicas
    tenant = new_tenant()
    first, second, rolled_back, last = (_batch(tenant) for _ in range(4))

    async with unit_of_work(one) as open_session:  # the first batch's transaction stays open meanwhile
        assert await build_claims(open_session, first, SETTINGS, dt.date.today()) == PER_BATCH
        other = asyncio.create_task(_build(two, second))
        try:
            while not other.done():  # the second batch runs to its commit; it must never wait on the first one
                assert not await role_waits_on_a_lock(admin_db, "claims"), "a batch waits for another batch's lock"
                await asyncio.wait({other}, timeout=0.05)
        finally:
            if not other.done():
                other.cancel()
        assert other.result() == PER_BATCH

    with pytest.raises(RolledBack):
        async with unit_of_work(two) as session:
            assert await build_claims(session, rolled_back, SETTINGS, dt.date.today()) == PER_BATCH
            raise RolledBack
    assert await _build(one, last) == PER_BATCH

    numbers = [
        row[0]
        for row in await admin_db.fetch(
            "SELECT claim_control_number FROM claims.claims WHERE tenant_id = $1 ORDER BY 1", tenant
        )
    ]
    assert len(numbers) == len(set(numbers)) == 3 * PER_BATCH
    # allocated in the order the batches asked: first, second, the rolled-back one (its numbers a gap), last
    expected = [*range(1, 2 * PER_BATCH + 1), *range(3 * PER_BATCH + 1, 4 * PER_BATCH + 1)]
    assert numbers == [claim_control_number(n) for n in expected]
    counter = await admin_db.fetchval(
        "SELECT last_value FROM claims.claim_number_counters WHERE tenant_id = $1", tenant
    )
    assert counter == 4 * PER_BATCH
    # out of READY: a later test's batcher in this database would otherwise put them in its own 837s
    await admin_db.execute("UPDATE claims.claims SET state = 'cancelled' WHERE tenant_id = $1", tenant)
