"""Background loops: batching (READY claims into stored 837 interchanges, the claims-by-state gauge),
sending (stored interchanges to the clearinghouse adapter), acknowledgments (999/277CA/277 from the
adapter move claims) and follow-up (quiet claims get a 276 through the adapter)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from services.claims.handlers import claims_settings
from services.claims.metrics import CLAIMS_BY_STATE
from services.claims.repository import StreamWrites
from services.claims.service import batch_ready_claims, send_stored_submissions
from services.claims.tracking import flag_quiet_claims, send_status_requests, take_acknowledgments
from shared.clearinghouse import ClearinghouseSettings, adapter_from_settings
from shared.db import unit_of_work
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0


async def batching_loop(runtime: ServiceRuntime) -> None:
    """Rounds of one transaction each; full rounds follow each other at once, short ones wait."""
    settings = claims_settings()
    if not settings.run_batching:
        return
    backoff = settings.batch_interval_s
    next_gauge = 0.0
    while True:
        try:
            async with unit_of_work(runtime.sessions) as session:
                batched = await batch_ready_claims(session, runtime.outbox, settings, dt.datetime.now(dt.UTC))
            if batched:
                log.info("claims batched", extra={"claims": batched})
            if time.monotonic() >= next_gauge:
                await observe_states(runtime)
                next_gauge = time.monotonic() + settings.metrics_interval_s
            backoff = settings.batch_interval_s
            if batched < settings.batch_size:
                await asyncio.sleep(settings.batch_interval_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop must outlive a bad round; the claims stay READY
            log.warning("batching round failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


async def sending_loop(runtime: ServiceRuntime) -> None:
    """Stored 837 files to the clearinghouse; claims `batched` -> `submitted`."""
    settings = claims_settings()
    if not settings.run_sending:
        return
    adapter = adapter_from_settings(ClearinghouseSettings())
    backoff = settings.batch_interval_s
    try:
        while True:
            try:
                sent = await send_stored_submissions(runtime.sessions, adapter, limit=settings.send_batch)
                if sent:
                    log.info("claims sent to the clearinghouse", extra={"claims": sent})
                backoff = settings.batch_interval_s
                await asyncio.sleep(settings.batch_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the files stay stored and are sent on a later round
                log.warning("sending round failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
    finally:
        await adapter.close()


async def acknowledgment_loop(runtime: ServiceRuntime) -> None:
    """999, 277CA and 277 files from the clearinghouse: each applied once, then acknowledged."""
    settings = claims_settings()
    if not settings.run_acknowledgments:
        return
    adapter = adapter_from_settings(ClearinghouseSettings())
    backoff = settings.acknowledgment_interval_s
    try:
        while True:
            try:
                changed = await take_acknowledgments(
                    runtime.sessions, adapter, runtime.outbox, settings.submitter.identifier
                )
                if changed:
                    log.info("claims acknowledged", extra={"claims": changed})
                backoff = settings.acknowledgment_interval_s
                await asyncio.sleep(settings.acknowledgment_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unacknowledged files are read again next round
                log.warning("acknowledgment round failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
    finally:
        await adapter.close()


async def follow_up_loop(runtime: ServiceRuntime) -> None:
    """Quiet claims flagged with a stored 276 (one transaction), then stored 276s sent."""
    settings = claims_settings()
    if not settings.run_follow_ups:
        return
    adapter = adapter_from_settings(ClearinghouseSettings())
    backoff = settings.follow_up_interval_s
    try:
        while True:
            try:
                async with unit_of_work(runtime.sessions) as session:
                    flagged = await flag_quiet_claims(session, settings, dt.datetime.now(dt.UTC))
                if flagged:
                    log.info("quiet claims flagged for follow-up", extra={"claims": flagged})
                await send_status_requests(runtime.sessions, adapter, limit=settings.send_batch)
                backoff = settings.follow_up_interval_s
                await asyncio.sleep(settings.follow_up_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("follow-up round failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(min(backoff, MAX_BACKOFF_S))
    finally:
        await adapter.close()


async def observe_states(runtime: ServiceRuntime) -> None:
    async with unit_of_work(runtime.sessions) as session:
        counts = await StreamWrites(session).count_by_state()
    for state, count in counts.items():
        CLAIMS_BY_STATE.labels(state).set(count)
