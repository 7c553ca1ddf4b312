"""Claims consumes `encounter-coded` (each coded encounter becomes one priced, numbered, scrubbed claim)
and `payment-received` (claims paid, partially paid or denied; secondary claims built)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.corrections import SUBSCRIPTION as CORRECTIONS
from services.claims.models import messaging
from services.claims.service import build_claims
from services.claims.settings import ClaimsSettings
from services.claims.tracking import apply_payments
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.outbox import Outbox
from shared.messaging.topics import ENCOUNTER_CODED, PAYMENT_RECEIVED

OUTBOX = Outbox(messaging.outbox, source="/claimflow/claims")

_settings: ClaimsSettings | None = None


def claims_settings() -> ClaimsSettings:
    global _settings
    if _settings is None:
        _settings = ClaimsSettings()
    return _settings


async def on_encounter_coded(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await build_claims(session, envelopes, claims_settings(), dt.datetime.now(dt.UTC).date())


async def on_payment_received(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await apply_payments(session, OUTBOX, envelopes, claims_settings(), dt.datetime.now(dt.UTC))


SUBSCRIPTIONS = [
    Subscription(
        group_id="claims",
        topics=(ENCOUNTER_CODED.name,),
        handlers={"encounter-coded.v1": on_encounter_coded},
    ),
    Subscription(
        group_id="claims-payments",
        topics=(PAYMENT_RECEIVED.name,),
        handlers={"payment-received.v1": on_payment_received},
    ),
]

SUBSCRIPTIONS.append(CORRECTIONS)
