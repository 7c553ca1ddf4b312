"""Periodic work of the claims service: batching (READY claims into stored 837 interchanges), sending
(stored interchanges to the clearinghouse adapter), acknowledgments
(999/277CA/277 from the adapter move claims) and follow-up (quiet claims get a 276 through the adapter).
Each is a `Periodic` the service runtime runs with one backoff policy."""

from __future__ import annotations

import datetime as dt
import logging

from services.claims.domain.claim_state import ClaimState
from services.claims.metrics import CLAIMS_BY_STATE
from services.claims.repository import ClaimStates
from services.claims.service import batch_ready_claims, send_stored_submissions
from services.claims.settings import ClaimsSettings
from services.claims.tracking import flag_quiet_claims, send_status_requests, take_acknowledgments
from shared.db import unit_of_work
from shared.patient_match import MemberDigest
from shared.periodic import Periodic
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0


def batching(runtime: ServiceRuntime) -> Periodic | None:
    """Rounds of one transaction each; full rounds follow each other at once, short ones wait."""
    settings = runtime.settings_of(ClaimsSettings)
    if not settings.run_batching:
        return None
    member_digest = MemberDigest.from_settings(runtime.settings)

    async def batch_round() -> bool:
        async with unit_of_work(runtime.sessions) as session:
            batched = await batch_ready_claims(
                session, runtime.outbox, settings, dt.datetime.now(dt.UTC), member_digest
            )
        if batched:
            log.info("claims batched", extra={"claims": batched})
        return batched >= settings.batch_size  # a failed round leaves the claims READY

    return Periodic("batching", settings.batch_interval_s, batch_round, MAX_BACKOFF_S)


def sending(runtime: ServiceRuntime) -> Periodic | None:
    """Stored 837 files to the clearinghouse; claims `batched` -> `submitted`."""
    settings = runtime.settings_of(ClaimsSettings)
    if not settings.run_sending:
        return None

    async def send_round() -> None:
        sent = await send_stored_submissions(
            runtime.sessions, runtime.clearinghouse, runtime.outbox, limit=settings.send_batch
        )
        if sent:  # files not sent stay stored and go on a later round
            log.info("claims sent to the clearinghouse", extra={"claims": sent})

    return Periodic("sending", settings.batch_interval_s, send_round, MAX_BACKOFF_S)


def acknowledgments(runtime: ServiceRuntime) -> Periodic | None:
    """999, 277CA and 277 files from the clearinghouse: each applied once, then acknowledged."""
    settings = runtime.settings_of(ClaimsSettings)
    if not settings.run_acknowledgments:
        return None

    async def acknowledgment_round() -> None:
        changed = await take_acknowledgments(
            runtime.sessions, runtime.clearinghouse, runtime.outbox, settings.submitter.identifier
        )
        if changed:  # unacknowledged files are read again next round
            log.info("claims acknowledged", extra={"claims": changed})

    return Periodic("acknowledgments", settings.acknowledgment_interval_s, acknowledgment_round, MAX_BACKOFF_S)


def follow_ups(runtime: ServiceRuntime) -> Periodic | None:
    """Quiet claims flagged with a stored 276 (one transaction), then stored 276s sent."""
    settings = runtime.settings_of(ClaimsSettings)
    if not settings.run_follow_ups:
        return None

    async def follow_up_round() -> None:
        async with unit_of_work(runtime.sessions) as session:
            flagged = await flag_quiet_claims(session, settings, dt.datetime.now(dt.UTC))
        if flagged:
            log.info("quiet claims flagged for follow-up", extra={"claims": flagged})
        await send_status_requests(runtime.sessions, runtime.clearinghouse, limit=settings.send_batch)

    return Periodic("follow-ups", settings.follow_up_interval_s, follow_up_round, MAX_BACKOFF_S)


async def observe_states(runtime: ServiceRuntime) -> None:
    """`claimflow_claims_by_state` read from the database at scrape time: every state is set, a state no
    claim is in any more to 0, so the gauge never reports claims the database no longer has."""
    async with unit_of_work(runtime.sessions) as session:
        counts = await ClaimStates(session).count_by_state()
    for state in ClaimState:
        CLAIMS_BY_STATE.labels(state.value).set(counts.get(state.value, 0))
