"""Notifications consumes every domain topic into the tenant's activity feed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.alerts import track_claim_states
from services.notifications.repository import ActivityFeed, FeedRows
from services.notifications.statements import STATEMENT_HANDLERS
from services.notifications.webhooks import record_deliveries
from shared.events.catalog import EVENT_TYPES
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Handler, Subscription
from shared.messaging.topics import CORE_TOPICS


async def on_any_event(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        envelope.wire_payload()  # refuse malformed payloads before they reach the feed
    feed = FeedRows(
        event_ids=[envelope.id for envelope in envelopes],
        tenant_ids=[envelope.tenant for envelope in envelopes],
        event_types=[envelope.type for envelope in envelopes],
        subjects=[envelope.subject for envelope in envelopes],
        occurred_at=[envelope.time for envelope in envelopes],
    )
    await ActivityFeed(session).record(feed)
    await record_deliveries(session, envelopes)
    await track_claim_states(session, envelopes)


def in_turn(*handlers: Handler) -> Handler:
    """Several effects of one event, applied in the same transaction."""

    async def apply(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        for handler in handlers:
            await handler(session, envelopes)

    return apply


HANDLERS: dict[str, Handler] = {
    event_type: in_turn(on_any_event, STATEMENT_HANDLERS[event_type])
    if event_type in STATEMENT_HANDLERS
    else on_any_event
    for event_type in EVENT_TYPES
}

SUBSCRIPTIONS = [
    Subscription(
        group_id="notifications",
        topics=tuple(topic.name for topic in CORE_TOPICS),
        handlers=HANDLERS,
    )
]
