"""The Idempotency-Key protocol (`shared/idempotency.py`) on intake's real table: one run per key and
request, a stored answer replayed, a conflict for another request, nothing kept when the run fails, and
a concurrent request with the same key waiting for the first to commit, then replaying it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.models import idempotency_keys
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.idempotency import Answer, IdempotencyConflict, IdempotencyKeys, answer_once, request_fingerprint
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration
FIRST = request_fingerprint("POST", "/v1/payers", {"payer_id": "SANDBOX"})
OTHER = request_fingerprint("POST", "/v1/payers", {"payer_id": "OTHER"})


@pytest.fixture
async def sessions(pipeline: Pipeline) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pipeline.role_url("intake"), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


class Work:
    """A request's work: counts its runs and answers 201 with the run number."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> tuple[int, object]:
        self.runs += 1
        return 201, {"run": self.runs}


async def answer(
    sessions: async_sessionmaker[AsyncSession], tenant: str, key: str | None, fingerprint: str, work: Work
) -> Answer:
    async with unit_of_work(sessions) as session:
        return await answer_once(IdempotencyKeys(session, idempotency_keys, tenant), key, fingerprint, work)


async def test_a_key_runs_once_replays_its_answer_and_refuses_another_request(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant, work = new_tenant(), Work()
    first = await answer(sessions, tenant, "K-1", FIRST, work)
    replay = await answer(sessions, tenant, "K-1", FIRST, work)
    with pytest.raises(IdempotencyConflict):
        await answer(sessions, tenant, "K-1", OTHER, work)
    other_tenant = await answer(sessions, new_tenant(), "K-1", OTHER, work)
    assert (first.status_code, first.body, first.replayed) == (201, {"run": 1}, False)
    assert (replay.status_code, replay.body, replay.replayed) == (200, {"run": 1}, True)
    assert other_tenant.body == {"run": 2} and work.runs == 2
    stored = await admin_db.fetchrow(
        "SELECT request_hash, response_status FROM intake.idempotency_keys WHERE tenant_id = $1 AND key = 'K-1'",
        tenant,
    )
    assert stored is not None and (stored["request_hash"], stored["response_status"]) == (FIRST, 201)


async def test_without_a_key_every_request_runs(sessions: async_sessionmaker[AsyncSession]) -> None:
    tenant, work = new_tenant(), Work()
    answers = [await answer(sessions, tenant, None, "", work) for _ in range(2)]
    assert [a.body for a in answers] == [{"run": 1}, {"run": 2}] and not any(a.replayed for a in answers)


async def test_a_failed_run_keeps_no_key_so_the_retry_runs(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant, work = new_tenant(), Work()

    async def failing() -> tuple[int, object]:
        raise LookupError("patient not found")

    with pytest.raises(LookupError):
        async with unit_of_work(sessions) as session:
            await answer_once(IdempotencyKeys(session, idempotency_keys, tenant), "K-2", FIRST, failing)
    assert await admin_db.fetchval("SELECT count(*) FROM intake.idempotency_keys WHERE tenant_id = $1", tenant) == 0
    retried = await answer(sessions, tenant, "K-2", FIRST, work)
    assert (retried.status_code, retried.replayed, work.runs) == (201, False, 1)


async def test_a_concurrent_request_with_the_same_key_waits_for_the_first_and_replays_it(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant, work = new_tenant(), Work()
    claimed, release = asyncio.Event(), asyncio.Event()

    async def slow() -> tuple[int, object]:
        claimed.set()
        await release.wait()
        return await work()

    first = asyncio.create_task(_answer_with(sessions, tenant, slow))
    await claimed.wait()
    second = asyncio.create_task(_answer_with(sessions, tenant, work))

    async def second_waits_on_the_key() -> bool:
        waiting = await admin_db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE '%idempotency_keys%'"
        )
        return bool(waiting)

    await eventually(second_waits_on_the_key, what="the second request waiting on the first one's key")
    assert not second.done()
    release.set()
    answers = await asyncio.gather(first, second)
    assert work.runs == 1
    assert [(a.status_code, a.replayed) for a in answers] == [(201, False), (200, True)]
    assert answers[0].body == answers[1].body == {"run": 1}


async def _answer_with(
    sessions: async_sessionmaker[AsyncSession], tenant: str, run: Callable[[], Awaitable[tuple[int, object]]]
) -> Answer:
    async with unit_of_work(sessions) as session:
        return await answer_once(IdempotencyKeys(session, idempotency_keys, tenant), "K-3", FIRST, run)
