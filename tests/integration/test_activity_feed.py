"""The notifications activity feed, written from the event stream in one statement per batch, read per subject; once
per event through the consumer's inbox (the feed has no key of its own)."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.repository import ActivityFeed, ActivityRepository, FeedRows
from shared.db import create_engine
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, eventually, metric_total, new_tenant, produce

pytestmark = pytest.mark.integration


async def test_a_batch_lands_and_each_tenant_reads_its_own(pipeline: Pipeline) -> None:
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
    engine = create_engine(pipeline.role_url("notifications"), pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await ActivityFeed(session).record(entries)
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


async def test_an_event_delivered_three_times_is_in_the_feed_once(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """Twice back to back (one batch or two) and once more after it was applied: the inbox takes it once, and the
    feed, which has no key of its own, holds one row."""
    notifications = await services.start("notifications")
    tenant = new_tenant()
    encounter_id = uuid.uuid4()

    def event() -> EventEnvelope:
        return EventEnvelope.new(
            source="/tests",
            subject=str(encounter_id),
            tenant=tenant,
            payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
        )

    async def feed() -> list[str]:
        rows = await admin_db.fetch("SELECT event_id FROM notifications.activity WHERE tenant_id = $1", tenant)
        return sorted(row["event_id"] for row in rows)

    repeated, following = event(), event()
    key, value, headers = to_kafka(repeated)
    for _ in range(2):
        await produce(services.kafka, ENCOUNTER_CODED.name, key=key, value=value, headers=headers)
    await eventually(feed, what="the repeated event in the feed")
    await produce(services.kafka, ENCOUNTER_CODED.name, key=key, value=value, headers=headers)
    key, value, headers = to_kafka(following)  # same key, so the same partition, after the third delivery
    await produce(services.kafka, ENCOUNTER_CODED.name, key=key, value=value, headers=headers)

    async def both() -> list[str]:
        rows = await feed()
        return rows if following.id in rows else []

    assert await eventually(both, what="the following event in the feed") == sorted([repeated.id, following.id])
    assert await metric_total(notifications, "claimflow_events_duplicate_total", service="notifications") >= 2
