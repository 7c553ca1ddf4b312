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

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain.posting import EntryDraft
from services.remittance.repository import DenialAdjustmentRepository, LedgerRepository, SubmittedClaimRepository
from shared.events.catalog import LedgerAdjustmentRequestedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import PoisonMessage, Subscription
from shared.messaging.topics import LEDGER_ADJUSTMENTS


def adjustment_entries(
    request: LedgerAdjustmentRequestedV1, claim_id: uuid.UUID, patient_id: uuid.UUID | None
) -> list[EntryDraft]:
    """The ledger entries of one decided denial: the reclassified denial, then the write-off or the
    transfer (claim and patient sides)."""
    key = f"denial-action:{request.action_id}"
    claim = str(claim_id)
    reclassified = EntryDraft(
        account_type="claim",
        account_id=claim,
        kind="adjustment",
        amount_cents=request.amount_cents,
        group_code="CO",
        carc=request.reason_code,
        reference=f"denial case {request.case_id} decided",
        source_key=f"{key}:1",
    )
    if request.kind == "write_off":
        return [
            reclassified,
            EntryDraft(
                account_type="claim",
                account_id=claim,
                kind="adjustment",
                amount_cents=-request.amount_cents,
                group_code="CO",
                carc=request.reason_code,
                reference=f"denial write-off {request.action_id}",
                source_key=f"{key}:2",
            ),
        ]
    if patient_id is None:
        raise PoisonMessage(f"claim {request.claim_control_number} has no patient account to transfer to")
    return [
        reclassified,
        EntryDraft(
            account_type="claim",
            account_id=claim,
            kind="patient_responsibility",
            amount_cents=-request.amount_cents,
            group_code="PR",
            carc=request.reason_code,
            reference=f"transfer to patient {request.action_id}",
            source_key=f"{key}:2",
        ),
        EntryDraft(
            account_type="patient",
            account_id=str(patient_id),
            kind="patient_responsibility",
            amount_cents=request.amount_cents,
            group_code="PR",
            carc=request.reason_code,
            reference=claim,
            source_key=f"{key}:3",
        ),
    ]


async def on_ledger_adjustment_requested(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    for envelope in envelopes:
        request = envelope.payload_as(LedgerAdjustmentRequestedV1)
        accounts = await SubmittedClaimRepository(session, envelope.tenant).accounts_of(request.claim_control_number)
        if accounts is None:
            raise PoisonMessage(f"claim {request.claim_control_number} is not known to remittance")
        claim_id, patient_id = accounts
        if not await DenialAdjustmentRepository(session, envelope.tenant).record_if_new(request, claim_id):
            continue
        await LedgerRepository(session, envelope.tenant).add_if_new(
            adjustment_entries(request, claim_id, patient_id), currency=request.currency, posted_on=today
        )


SUBSCRIPTION = Subscription(
    group_id="remittance-denial-actions",
    topics=(LEDGER_ADJUSTMENTS.name,),
    handlers={"ledger-adjustment-requested.v1": on_ledger_adjustment_requested},
)
