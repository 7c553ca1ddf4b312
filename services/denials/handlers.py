"""Denials consumes `claim-denied` (each denial opens a classified case, or upholds one waiting on the
payer), `payment-received` (outcomes, underpayments, the KPI denominator), `claim-submitted` (service
date and provider of each claim) and `claim-status` (`claim-corrected`: a case's corrected claim)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.denials.service import apply_remittances, link_corrections, open_denial_cases, record_submitted_claims
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import CLAIM_DENIED, CLAIM_STATUS, CLAIM_SUBMITTED, PAYMENT_RECEIVED


async def on_claim_denied(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await open_denial_cases(session, envelopes)


async def on_payment_received(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await apply_remittances(session, envelopes)


async def on_claim_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await record_submitted_claims(session, envelopes)


async def on_claim_corrected(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await link_corrections(session, envelopes)


async def on_claim_status_changed(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    """Status changes decide nothing here: payments and denials come on their own topics."""


SUBSCRIPTIONS = [
    Subscription(
        group_id="denials",
        topics=(CLAIM_DENIED.name,),
        handlers={"claim-denied.v1": on_claim_denied},
    ),
    Subscription(
        group_id="denials-payments",
        topics=(PAYMENT_RECEIVED.name,),
        handlers={"payment-received.v1": on_payment_received},
    ),
    Subscription(
        group_id="denials-claims",
        topics=(CLAIM_SUBMITTED.name, CLAIM_STATUS.name),
        handlers={
            "claim-submitted.v1": on_claim_submitted,
            "claim-corrected.v1": on_claim_corrected,
            "claim-status-changed.v1": on_claim_status_changed,
        },
    ),
]
