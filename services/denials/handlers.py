"""Denials consumes `claim-denied`: each denial opens a case on the work queue."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.denials.domain.denial_case import DenialCaseStatus
from services.denials.repository import DenialCaseRepository
from shared.events.catalog import ClaimDeniedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import CLAIM_DENIED


async def on_claim_denied(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        denial = envelope.payload_as(ClaimDeniedV1)
        await DenialCaseRepository(session, envelope.tenant).open_case(
            {
                "id": uuid.uuid4(),
                "claim_control_number": denial.claim_control_number,
                "payer_id": denial.payer_id,
                "trace_number": denial.trace_number,
                "denial": denial.denial,
                "denied_cents": denial.denied_cents,
                "currency": denial.currency,
                "carcs": denial.carcs,
                "rarcs": denial.rarcs,
                "status": DenialCaseStatus.OPEN,
            }
        )


SUBSCRIPTIONS = [
    Subscription(group_id="denials", topics=(CLAIM_DENIED.name,), handlers={"claim-denied.v1": on_claim_denied})
]
