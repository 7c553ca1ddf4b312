"""The inbound loop: 835s from the clearinghouse inbound box (``CLAIMFLOW_CLEARINGHOUSE_*``), posted
through the same code path as an upload, then acknowledged out of the box.

The box is shared with the claims service, which takes the 999s and 277CAs; this loop takes only
835s. Per file: parse and balance (in a thread), find the tenant (``domain.inbound``), post and
record the file in one transaction, commit, and only then acknowledge. A crash between commit and
acknowledge means the file is read again: its content hash finds the first posting, its claim
payment keys and ledger source keys refuse a second one, and its record already exists — nothing
changes. A file that does not parse, balance or route is recorded as rejected (reason, segment,
position) in a transaction of its own, with nothing of it posted, and acknowledged so the loop moves on.
Any other failure (database down, a bug) leaves the file in the box for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.remittance import service
from services.remittance.domain.inbound import InboundRouting, NoTenant
from services.remittance.domain.posting import PostingResult
from services.remittance.domain.rejection import Rejection
from services.remittance.settings import RemittanceSettings
from shared.clearinghouse import ClearinghouseAdapter, InboundFile, InboundKind
from shared.db import unit_of_work
from shared.messaging.outbox import Outbox
from shared.patient_match import MemberDigest
from shared.periodic import Periodic
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0
REMITTANCES = frozenset({InboundKind.REMITTANCE_835})


@dataclass(frozen=True, slots=True)
class InboundOutcome:
    file_name: str
    state: Literal["posted", "duplicate", "rejected"]
    tenant: str | None
    result: PostingResult | None = None
    rejection: Rejection | None = None


def routing_from(settings: RemittanceSettings) -> InboundRouting:
    return InboundRouting(default_tenant=settings.inbound_tenant, payee_tenants=dict(settings.inbound_payee_tenants))


async def ingest_inbound_file(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    inbound: InboundFile,
    routing: InboundRouting,
    member_digest: MemberDigest,
) -> InboundOutcome:
    """Post or reject one inbound file; raises only when it should be tried again later."""
    tenant = routing.fallback_tenant
    try:
        advices = await asyncio.to_thread(service.parse_remittance, inbound.content)
        tenant = routing.tenant_for(advices)
        async with unit_of_work(sessions) as session:
            result, created = await service.post_inbound(
                session,
                outbox,
                tenant=tenant,
                file_name=inbound.file_name,
                body=inbound.content,
                advices=advices,
                member_digest=member_digest,
            )
        return InboundOutcome(inbound.file_name, "posted" if created else "duplicate", tenant, result=result)
    except (service.RemittanceRejected, NoTenant) as exc:
        async with unit_of_work(sessions) as session:
            await service.reject_inbound(
                session, tenant=tenant, file_name=inbound.file_name, body=inbound.content, detail=exc.detail
            )
        return InboundOutcome(inbound.file_name, "rejected", tenant, rejection=exc.detail)


async def collect_inbound(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    adapter: ClearinghouseAdapter,
    routing: InboundRouting,
    member_digest: MemberDigest,
) -> list[InboundOutcome]:
    """One round: every 835 waiting in the box, oldest name first; a file that fails for a reason other
    than its content stays in the box and the round moves on to the next."""
    outcomes = []
    for inbound in await adapter.fetch_inbound_of(REMITTANCES):
        try:
            outcome = await ingest_inbound_file(sessions, outbox, inbound, routing, member_digest)
        except Exception as exc:
            log.warning(
                "inbound 835 left for a later round", extra={"file": inbound.file_name, "error": type(exc).__name__}
            )
            continue
        await adapter.acknowledge(inbound)
        _log(outcome)
        outcomes.append(outcome)
    return outcomes


def _log(outcome: InboundOutcome) -> None:
    if outcome.rejection is not None:
        log.warning(
            "inbound 835 rejected",
            extra={
                "file": outcome.file_name,
                "tenant": outcome.tenant,
                "segment_id": outcome.rejection.get("segment_id"),
                "position": outcome.rejection.get("position"),
            },
        )
    elif outcome.result is not None:
        log.info(
            "inbound 835 posted" if outcome.state == "posted" else "inbound 835 was posted before",
            extra={
                "file": outcome.file_name,
                "tenant": outcome.tenant,
                "claim_payments": outcome.result.claim_payments,
                "posted": outcome.result.posted if outcome.state == "posted" else 0,
            },
        )


def collecting(runtime: ServiceRuntime) -> Periodic | None:
    """Periodic work of the remittance service; idle unless a tenant rule is configured."""
    settings = runtime.settings_of(RemittanceSettings)
    if not settings.run_inbound:
        return None
    if not settings.inbound_configured:
        log.info(
            "inbound 835s not collected: set CLAIMFLOW_REMITTANCE_INBOUND_TENANT "
            "or CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS to post them"
        )
        return None
    routing = routing_from(settings)
    member_digest = MemberDigest.from_settings(runtime.settings)

    async def collect_round() -> None:  # the box is read again next round; nothing is acknowledged unposted
        await collect_inbound(runtime.sessions, runtime.outbox, runtime.clearinghouse, routing, member_digest)

    return Periodic("inbound-835", settings.inbound_interval_s, collect_round, MAX_BACKOFF_S)
