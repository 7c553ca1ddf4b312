"""Published outbox rows past their retention are deleted, oldest first and a bounded number per round; rows not yet
published stay whatever their age, as do rows published within the retention."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.app import DEFINITION as INTAKE
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.messaging.outbox import Outbox
from shared.messaging.retention import prune_outbox
from tests.support.pipeline import Pipeline, coded_encounter

CUTOFF = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
"""Rows this test ages are published before it; no other test's row is that old."""


async def test_published_rows_past_retention_are_pruned_oldest_first(pipeline: Pipeline) -> None:
    tenant = f"retention-{uuid.uuid4().hex[:8]}"
    engine = create_engine(pipeline.role_url("intake"), pool_size=1)
    sessions = create_sessionmaker(engine)
    table = INTAKE.messaging.outbox
    try:
        payloads = [
            EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())}) for _ in range(5)
        ]
        async with unit_of_work(sessions) as session:
            written = await Outbox(table, source="/claimflow/intake").add_many(
                session, tenant=tenant, events=[(str(p.encounter_id), p) for p in payloads]
            )
        async with engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(table.c.id, table.c.event_id).where(table.c.tenant_id == tenant))
            ).all()
        by_event = {str(event_id): row_id for row_id, event_id in rows}
        old_1, old_2, old_3, recent, unpublished = (
            by_event[event_id] for event_id in (envelope.id for envelope in written)
        )
        published = {
            old_1: dt.datetime(1990, 1, 1, tzinfo=dt.UTC),
            old_2: dt.datetime(1995, 1, 1, tzinfo=dt.UTC),
            old_3: dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            recent: dt.datetime.now(dt.UTC),
        }
        async with unit_of_work(sessions) as session:
            for row_id, at in published.items():
                await session.execute(sa.update(table).where(table.c.id == row_id).values(published_at=at))
            await session.execute(
                sa.update(table)
                .where(table.c.id == unpublished)
                .values(created_at=dt.datetime(1990, 1, 1, tzinfo=dt.UTC))
            )

        now = dt.datetime.now(dt.UTC)
        retention = now - CUTOFF
        async with unit_of_work(sessions) as session:
            first = await prune_outbox(session, table, now=now, retention=retention, limit=2)
        assert first == 2
        assert await _left(engine, table, tenant) == {old_3, recent, unpublished}  # the two oldest went first

        async with unit_of_work(sessions) as session:
            second = await prune_outbox(session, table, now=now, retention=retention, limit=2)
        assert second == 1
        assert await _left(engine, table, tenant) == {recent, unpublished}

        async with unit_of_work(sessions) as session:
            assert await prune_outbox(session, table, now=now, retention=retention, limit=2) == 0
        assert await _left(engine, table, tenant) == {recent, unpublished}
    finally:
        await engine.dispose()


async def _left(engine: AsyncEngine, table: sa.Table, tenant: str) -> set[int]:
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(table.c.id).where(table.c.tenant_id == tenant))).scalars())
