"""Payments patients record on their statement page (notifications' `patient-payment-submitted`), posted
with the same idempotent patient-payment code as the HTTP API, keyed by the payment id the page chose."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.models import messaging
from services.remittance.service import MoneyRefused, NotFound, PostingConflict, take_patient_payment
from shared.events.catalog import PatientPaymentSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import PoisonMessage
from shared.messaging.outbox import Outbox

_OUTBOX = Outbox(messaging.outbox, source="/claimflow/remittance")  # the source of the service's own outbox


def idempotency_key(payment_id: object) -> str:
    return f"statement-payment:{payment_id}"


async def on_patient_payment_submitted(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        submitted: PatientPaymentSubmittedV1 = envelope.payload_as(PatientPaymentSubmittedV1)
        try:
            await take_patient_payment(
                session,
                _OUTBOX,
                tenant=envelope.tenant,
                patient_id=submitted.patient_id,
                idempotency_key=idempotency_key(submitted.payment_id),
                amount_cents=submitted.amount_cents,
                currency=submitted.currency,
                method=submitted.method,
                received_on=submitted.submitted_on,
            )
        except (PostingConflict, NotFound, MoneyRefused) as exc:
            raise PoisonMessage(str(exc)) from None
