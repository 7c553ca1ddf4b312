"""Remittance consumes `ledger-adjustment-requested` from the denials service: a denied balance is
written off, or moved to the patient's account, once per action.

The 835's denial adjustment already took the amount off the claim's open balance, so a decision
re-books it: the denial adjustment is reclassified (+amount) and booked again as what it now is, a
write-off with its reason code (-amount, kind adjustment) or the patient's responsibility (-amount on
the claim, +amount on the patient's account). The claim still balances (charge = paid + adjustments +
patient responsibility + open); each entry's source key `denial-action:<action id>:<n>` and the
`denial_adjustments` row make a repeated request post nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.models import denial_adjustments, ledger_entries, submitted_claims
from shared.events.catalog import LedgerAdjustmentRequestedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import PoisonMessage, Subscription
from shared.messaging.topics import LEDGER_ADJUSTMENTS


def _entries(
    tenant: str, request: LedgerAdjustmentRequestedV1, claim_id: uuid.UUID, patient_id: uuid.UUID | None
) -> list[dict[str, object]]:
    today = dt.datetime.now(dt.UTC).date()
    base = {
        "tenant_id": tenant,
        "currency": request.currency,
        "posted_on": today,
        "line_number": None,
        "claim_payment_id": None,
        "reversal_of": None,
    }
    key = f"denial-action:{request.action_id}"
    claim = str(claim_id)
    reclassified = {
        **base,
        "account_type": "claim",
        "account_id": claim,
        "kind": "adjustment",
        "amount_cents": request.amount_cents,
        "group_code": "CO",
        "carc": request.reason_code,
        "reference": f"denial case {request.case_id} decided",
        "source_key": f"{key}:1",
    }
    if request.kind == "write_off":
        return [
            reclassified,
            {
                **base,
                "account_type": "claim",
                "account_id": claim,
                "kind": "adjustment",
                "amount_cents": -request.amount_cents,
                "group_code": "CO",
                "carc": request.reason_code,
                "reference": f"denial write-off {request.action_id}",
                "source_key": f"{key}:2",
            },
        ]
    if patient_id is None:
        raise PoisonMessage(f"claim {request.claim_control_number} has no patient account to transfer to")
    return [
        reclassified,
        {
            **base,
            "account_type": "claim",
            "account_id": claim,
            "kind": "patient_responsibility",
            "amount_cents": -request.amount_cents,
            "group_code": "PR",
            "carc": request.reason_code,
            "reference": f"transfer to patient {request.action_id}",
            "source_key": f"{key}:2",
        },
        {
            **base,
            "account_type": "patient",
            "account_id": str(patient_id),
            "kind": "patient_responsibility",
            "amount_cents": request.amount_cents,
            "group_code": "PR",
            "carc": request.reason_code,
            "reference": claim,
            "source_key": f"{key}:3",
        },
    ]


async def on_ledger_adjustment_requested(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        request: LedgerAdjustmentRequestedV1 = envelope.payload_as(LedgerAdjustmentRequestedV1)
        claim = (
            await session.execute(
                sa.select(submitted_claims.c.claim_id, submitted_claims.c.patient_id).where(
                    submitted_claims.c.tenant_id == envelope.tenant,
                    submitted_claims.c.claim_control_number == request.claim_control_number,
                )
            )
        ).first()
        if claim is None:
            raise PoisonMessage(f"claim {request.claim_control_number} is not known to remittance")
        applied = await session.execute(
            insert(denial_adjustments)
            .values(
                action_id=request.action_id,
                tenant_id=envelope.tenant,
                case_id=request.case_id,
                claim_id=claim.claim_id,
                kind=request.kind,
                amount_cents=request.amount_cents,
                currency=request.currency,
                reason_code=request.reason_code,
            )
            .on_conflict_do_nothing(index_elements=["action_id"])
            .returning(denial_adjustments.c.action_id)
        )
        if applied.first() is None:
            continue
        await session.execute(
            insert(ledger_entries).on_conflict_do_nothing(constraint="uq_ledger_entries_tenant_id_source_key"),
            _entries(envelope.tenant, request, claim.claim_id, claim.patient_id),
        )


SUBSCRIPTION = Subscription(
    group_id="remittance-denial-actions",
    topics=(LEDGER_ADJUSTMENTS.name,),
    handlers={"ledger-adjustment-requested.v1": on_ledger_adjustment_requested},
)
