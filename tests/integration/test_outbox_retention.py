"""Published outbox rows past their retention are deleted, a bounded window of the oldest rows per round; rows not
yet published stay whatever their age, as do rows published within the retention. Runs on an outbox of its own
(a throwaway schema), so the rows in the window are this test's."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cli.stack.local_stack import sqlalchemy_url
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.messaging.retention import outbox_pruning, prune_outbox
from shared.messaging.tables import messaging_tables
from tests.support.pipeline import Pipeline

NOW = dt.datetime.now(dt.UTC)
RETENTION = dt.timedelta(days=7)
LONG_AGO = NOW - dt.timedelta(days=30)


async def test_published_rows_past_retention_are_pruned_from_the_oldest(pipeline: Pipeline) -> None:
    schema = f"retention_{uuid.uuid4().hex[:8]}"
    table = messaging_tables(sa.MetaData(schema=schema)).outbox
    engine = create_engine(sqlalchemy_url(pipeline.admin_url), pool_size=1)
    sessions = create_sessionmaker(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            await conn.run_sync(table.metadata.create_all)
        # In id order: old published, old unpublished, old published, recently published, old published.
        published = [LONG_AGO, None, LONG_AGO, NOW - dt.timedelta(days=1), LONG_AGO]
        async with unit_of_work(sessions) as session:
            ids = list(
                (
                    await session.execute(
                        sa.insert(table).returning(table.c.id),
                        [
                            {
                                "event_id": uuid.uuid4(),
                                "topic": "claim-status-changed",
                                "message_key": str(index),
                                "event_type": "claim.status-changed.v1",
                                "tenant_id": "t",
                                "envelope": {},
                                "created_at": LONG_AGO,
                                "published_at": at,
                            }
                            for index, at in enumerate(published)
                        ],
                    )
                ).scalars()
            )
        ids.sort()
        _, unpublished, old_2, recent, old_3 = ids  # the first, old and published, goes in the first round

        assert await _prune(sessions, table, limit=2) == 1  # the window of the two oldest: one is unpublished
        assert await _left(engine, table) == {unpublished, old_2, recent, old_3}
        assert await _prune(sessions, table, limit=3) == 1  # unpublished, old_2, recent
        assert await _left(engine, table) == {unpublished, recent, old_3}
        assert await _prune(sessions, table, limit=10) == 1
        assert await _left(engine, table) == {unpublished, recent}
        assert await _prune(sessions, table, limit=10) == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()


@pytest.mark.parametrize("days", [0, -1])
def test_no_retention_keeps_every_row(days: int) -> None:
    table = messaging_tables(sa.MetaData(schema="any")).outbox
    assert outbox_pruning("intake", create_sessionmaker(create_engine("postgresql+asyncpg://x/y")), table, days) is None


async def _prune(sessions: async_sessionmaker[AsyncSession], table: sa.Table, *, limit: int) -> int:
    async with unit_of_work(sessions) as session:
        return await prune_outbox(session, table, now=NOW, retention=RETENTION, limit=limit)


async def _left(engine: AsyncEngine, table: sa.Table) -> set[int]:
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(table.c.id))).scalars())
