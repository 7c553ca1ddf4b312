"""The notifications activity feed, written from the event stream in one statement per batch, read per subject."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.repository import ActivityFeed, ActivityRepository, FeedEntry
from shared.db import create_engine
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


async def test_a_batch_lands_once_per_event_and_each_tenant_reads_its_own(pipeline: Pipeline) -> None:
    tenant, other = f"feed-{uuid.uuid4().hex[:8]}", f"feed-{uuid.uuid4().hex[:8]}"
    subject = f"claim-{uuid.uuid4()}"
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    entries = [
        FeedEntry(f"ev-{uuid.uuid4()}", tenant, "claim-submitted.v1", subject, at + dt.timedelta(minutes=2)),
        FeedEntry(f"ev-{uuid.uuid4()}", tenant, "encounter-coded.v1", subject, at),
        FeedEntry(f"ev-{uuid.uuid4()}", other, "claim-submitted.v1", subject, at + dt.timedelta(minutes=1)),
    ]
    engine = create_engine(pipeline.role_url("notifications"), pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await ActivityFeed(session).record(entries)
        async with AsyncSession(engine) as session, session.begin():  # a redelivered batch adds nothing
            await ActivityFeed(session).record([entries[0], entries[2]])
            await ActivityFeed(session).record([])
        async with AsyncSession(engine) as session:
            mine = await ActivityRepository(session, tenant).for_subject(subject)
            theirs = await ActivityRepository(session, other).for_subject(subject)
    finally:
        await engine.dispose()

    assert [(row.event_id, row.event_type, row.occurred_at) for row in mine] == [
        (entries[1].event_id, "encounter-coded.v1", at),
        (entries[0].event_id, "claim-submitted.v1", at + dt.timedelta(minutes=2)),
    ]
    assert [row.event_id for row in theirs] == [entries[2].event_id]
