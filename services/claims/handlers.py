"""Claims consumes `encounter-coded`: each coded encounter becomes one priced, numbered, scrubbed claim."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.service import build_claims
from services.claims.settings import ClaimsSettings
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.topics import ENCOUNTER_CODED

_settings: ClaimsSettings | None = None


def claims_settings() -> ClaimsSettings:
    global _settings
    if _settings is None:
        _settings = ClaimsSettings()
    return _settings


async def on_encounter_coded(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    await build_claims(session, envelopes, claims_settings(), dt.datetime.now(dt.UTC).date())


SUBSCRIPTIONS = [
    Subscription(
        group_id="claims",
        topics=(ENCOUNTER_CODED.name,),
        handlers={"encounter-coded.v1": on_encounter_coded},
    )
]
