"""Periodic work of the denials service: stored appeal letters go to the payer through the clearinghouse."""

from __future__ import annotations

import logging

from services.denials.service import send_appeal_letters
from services.denials.settings import DenialsSettings
from shared.periodic import Periodic
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 10.0


def appeal_sending(runtime: ServiceRuntime) -> Periodic | None:
    settings = runtime.settings_of(DenialsSettings)
    if not settings.run_appeal_sending:
        return None

    async def send_round() -> bool:
        sent = await send_appeal_letters(runtime.sessions, runtime.clearinghouse, limit=settings.appeal_batch)
        if sent:
            log.info("appeal letters sent to the clearinghouse", extra={"letters": sent})
        return sent >= settings.appeal_batch

    return Periodic("appeal-sending", settings.appeal_interval_s, send_round, MAX_BACKOFF_S)
