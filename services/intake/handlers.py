"""Intake consumes `claim-changes`: what billing staff changed on a claim that intake's records must follow
(a member id corrected on a claim goes to its coverage; a cancelled claim cancels its encounter)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.service import apply_claim_changes
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Handler, Subscription
from shared.messaging.topics import CLAIM_CHANGES
from shared.service import ServiceRuntime

SUBSCRIPTIONS = [Subscription(group_id="intake-claim-changes", topics=(CLAIM_CHANGES.name,), handlers={})]


def handlers(runtime: ServiceRuntime) -> dict[str, Handler]:
    outbox = runtime.outbox

    async def on_claim_changed(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        await apply_claim_changes(session, outbox, envelopes)

    return {"coverage-correction-requested.v1": on_claim_changed, "claim-cancelled.v1": on_claim_changed}
