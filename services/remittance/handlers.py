"""Remittance consumes `claim-submitted`: the claims an incoming 835 will be matched to, and their charges."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.denial_actions import SUBSCRIPTION as DENIAL_ACTIONS
from services.remittance.service import record_submitted_claim
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import CLAIM_SUBMITTED


async def on_claim_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        claim = envelope.payload_as(ClaimSubmittedV1)
        await record_submitted_claim(
            session,
            envelope.tenant,
            {
                "claim_id": claim.claim_id,
                "claim_control_number": claim.claim_control_number,
                "payer_id": claim.payer_id,
                "total_charge_cents": claim.total_charge_cents,
                "currency": claim.currency,
                "submitted_at": claim.submitted_at,
                "patient_id": claim.patient_id,
                "lines": [line.model_dump(mode="json") for line in claim.lines],
            },
        )


SUBSCRIPTIONS = [
    Subscription(
        group_id="remittance",
        topics=(CLAIM_SUBMITTED.name,),
        handlers={"claim-submitted.v1": on_claim_submitted},
    )
]

SUBSCRIPTIONS.append(DENIAL_ACTIONS)
