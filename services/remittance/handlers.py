"""Remittance consumes `claim-submitted`: the claims an incoming 835 will be matched to, their charges, and
the suspended payments that named them before they were known."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.denial_actions import SUBSCRIPTION as DENIAL_ACTIONS
from services.remittance.models import messaging
from services.remittance.service import claims_submitted
from services.remittance.statement_payments import on_patient_payment_submitted
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import Subscription
from shared.messaging.outbox import Outbox
from shared.messaging.topics import CLAIM_SUBMITTED, PATIENT_ACCOUNT
from shared.telemetry.tracing import continued_trace_headers

_OUTBOX = Outbox(messaging.outbox, source="/claimflow/remittance")  # the source of the service's own outbox


async def on_claim_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    """Claims recorded per tenant (tenants in a fixed order: each takes its matching lock), and the
    suspended payments that named them posted."""
    by_tenant: dict[str, list[tuple[ClaimSubmittedV1, dict[str, str] | None]]] = defaultdict(list)
    for envelope in envelopes:
        by_tenant[envelope.tenant].append(
            (envelope.payload_as(ClaimSubmittedV1), continued_trace_headers(envelope.trace_headers))
        )
    for tenant in sorted(by_tenant):
        await claims_submitted(session, _OUTBOX, tenant, by_tenant[tenant])


async def ignore(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    """Events remittance itself published on a topic it reads for others' events."""


SUBSCRIPTIONS = [
    Subscription(
        group_id="remittance",
        topics=(CLAIM_SUBMITTED.name,),
        handlers={"claim-submitted.v1": on_claim_submitted},
    ),
    Subscription(
        group_id="remittance-patient-account",
        topics=(PATIENT_ACCOUNT.name,),
        handlers={
            "patient-payment-submitted.v1": on_patient_payment_submitted,
            # remittance's own events on the same topic: nothing to do
            "patient-payment-received.v1": ignore,
            "payment-plan-changed.v1": ignore,
        },
    ),
]

SUBSCRIPTIONS.append(DENIAL_ACTIONS)
