"""Claims consumes `encounter-coded` (each coded encounter becomes one priced, numbered, scrubbed claim),
`payment-received` (claims paid, partially paid or denied; secondary claims built) and
`claim-correction-requested` (a replacement or void asked for by the denials service) and
`party-changed` (a corrected patient, coverage, provider, payer or facility mends the held claims naming it).

The consumer groups are declared here; their handlers are bound to the running service's own settings
and outbox by `handlers(runtime)` once the runtime exists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.corrections import correct_claims
from services.claims.service import build_claims, mend_held_claims
from services.claims.settings import ClaimsSettings
from services.claims.tracking import apply_payments
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Handler, Subscription
from shared.messaging.topics import CLAIM_CORRECTIONS, ENCOUNTER_CODED, PARTY_CHANGES, PAYMENT_RECEIVED
from shared.service import ServiceRuntime

SUBSCRIPTIONS = [
    Subscription(group_id="claims", topics=(ENCOUNTER_CODED.name,), handlers={}),
    Subscription(group_id="claims-payments", topics=(PAYMENT_RECEIVED.name,), handlers={}),
    Subscription(group_id="claims-corrections", topics=(CLAIM_CORRECTIONS.name,), handlers={}),
    Subscription(group_id="claims-party-changes", topics=(PARTY_CHANGES.name,), handlers={}),
]


def handlers(runtime: ServiceRuntime) -> dict[str, Handler]:
    settings = runtime.settings_of(ClaimsSettings)
    outbox = runtime.outbox

    async def on_encounter_coded(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        await build_claims(session, envelopes, settings, dt.datetime.now(dt.UTC).date())

    async def on_payment_received(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        await apply_payments(session, outbox, envelopes, settings, dt.datetime.now(dt.UTC))

    async def on_correction_requested(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        await correct_claims(session, outbox, envelopes, settings, dt.datetime.now(dt.UTC).date())

    async def on_party_changed(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        await mend_held_claims(session, outbox, envelopes, settings, dt.datetime.now(dt.UTC).date())

    return {
        "party-changed.v1": on_party_changed,
        "encounter-coded.v1": on_encounter_coded,
        "payment-received.v1": on_payment_received,
        "claim-correction-requested.v1": on_correction_requested,
    }
