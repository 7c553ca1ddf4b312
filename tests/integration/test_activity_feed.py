"""The notifications activity feed, written from the event stream in one statement per batch, read per subject."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.repository import ActivityFeed, ActivityRepository, FeedRows
from shared.db import create_engine
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


async def test_a_batch_lands_once_per_event_and_each_tenant_reads_its_own(pipeline: Pipeline) -> None:
    tenant, other = f"feed-{uuid.uuid4().hex[:8]}", f"feed-{uuid.uuid4().hex[:8]}"
    subject = f"claim-{uuid.uuid4()}"
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    event_ids = [f"ev-{uuid.uuid4()}" for _ in range(3)]
    entries = FeedRows(
        event_ids=event_ids,
        tenant_ids=[tenant, tenant, other],
        event_types=["claim-submitted.v1", "encounter-coded.v1", "claim-submitted.v1"],
        subjects=[subject] * 3,
        occurred_at=[at + dt.timedelta(minutes=2), at, at + dt.timedelta(minutes=1)],
    )
    redelivered = FeedRows(
        event_ids=[event_ids[0], event_ids[2]],
        tenant_ids=[tenant, other],
        event_types=["claim-submitted.v1", "claim-submitted.v1"],
        subjects=[subject] * 2,
        occurred_at=[at + dt.timedelta(minutes=2), at + dt.timedelta(minutes=1)],
    )
    engine = create_engine(pipeline.role_url("notifications"), pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await ActivityFeed(session).record(entries)
        async with AsyncSession(engine) as session, session.begin():  # a redelivered batch adds nothing
            await ActivityFeed(session).record(redelivered)
            await ActivityFeed(session).record(FeedRows([], [], [], [], []))
        async with AsyncSession(engine) as session:
            mine = await ActivityRepository(session, tenant).for_subject(subject)
            theirs = await ActivityRepository(session, other).for_subject(subject)
    finally:
        await engine.dispose()

    assert [(row.event_id, row.event_type, row.occurred_at) for row in mine] == [
        (event_ids[1], "encounter-coded.v1", at),
        (event_ids[0], "claim-submitted.v1", at + dt.timedelta(minutes=2)),
    ]
    assert [row.event_id for row in theirs] == [event_ids[2]]
