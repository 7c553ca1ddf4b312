"""Remittance consumes `claim-submitted`: the claims an incoming 835 will be matched to, and their charges."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.service import record_submitted_claim
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import CLAIM_SUBMITTED


async def on_claim_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        await record_submitted_claim(session, envelope.tenant, envelope.payload_as(ClaimSubmittedV1))


SUBSCRIPTIONS = [
    Subscription(
        group_id="remittance",
        topics=(CLAIM_SUBMITTED.name,),
        handlers={"claim-submitted.v1": on_claim_submitted},
    )
]
