"""Notifications consumes every domain topic into the tenant's activity feed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.repository import ActivityRepository
from shared.events.catalog import EVENT_TYPES
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import CORE_TOPICS


async def on_any_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    envelope.payload()  # refuse malformed payloads before they reach the feed
    await ActivityRepository(session, envelope.tenant).record(
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "subject": envelope.subject,
            "occurred_at": envelope.time,
        }
    )


SUBSCRIPTIONS = [
    Subscription(
        group_id="notifications",
        topics=tuple(topic.name for topic in CORE_TOPICS),
        handlers=dict.fromkeys(EVENT_TYPES, on_any_event),
    )
]
