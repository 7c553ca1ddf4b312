"""Claims consumes `encounter-coded`: each coded encounter becomes one draft claim."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.claim_state import ClaimState
from services.claims.repository import ClaimDrafts
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import ENCOUNTER_CODED


async def on_encounter_coded(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    drafts = []
    for envelope in envelopes:
        encounter = envelope.payload_as(EncounterCodedV1)
        drafts.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": envelope.tenant,
                "encounter_id": encounter.encounter_id,
                "claim_type": encounter.claim_type,
                "payer_id": encounter.payer_id,
                "state": ClaimState.DRAFT,
                "total_charge_cents": sum(line.charge_cents or 0 for line in encounter.lines),
                "currency": encounter.currency,
                "line_count": len(encounter.lines),
            }
        )
    await ClaimDrafts(session).add(drafts)


SUBSCRIPTIONS = [
    Subscription(
        group_id="claims",
        topics=(ENCOUNTER_CODED.name,),
        handlers={"encounter-coded.v1": on_encounter_coded},
    )
]
